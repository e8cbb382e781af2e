/**
 * Notification text about one file that names it once. Messages from the core already start with the file
 * (a ModelError: 'mini.json:12:5 at $.config: ...'); the trainer's name its absolute path. Pure (unit-tested).
 */

/** `label: message`, unless the message already starts with the label (then as it is). */
export function aboutFile(label: string, message: string): string {
  return message.startsWith(`${label}:`) || message.startsWith(`${label} `) ? message : `${label}: ${message}`;
}

/** `message` with the file's absolute path written as the workspace-relative label the user sees elsewhere. */
export function withFileLabel(message: string, fsPath: string, label: string): string {
  return fsPath && fsPath !== label ? message.split(fsPath).join(label) : message;
}
