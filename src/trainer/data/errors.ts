// Errors of the dataset loaders. Messages are meant to be shown as they are (CLI, extension).

/** A dataset that cannot be read or built: bad file, bad spec, too large. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}
