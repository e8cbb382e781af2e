import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * The page every LAuReL webview starts from: a strict CSP with a per-render nonce, local styles and one
 * local script, and an empty #app. No model data goes into the HTML; it arrives by postMessage after `ready`.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: { title: string; script: string[]; styles: string[][] }): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (p: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // The nonce lets the toolkit's one feature-test <style> (it reads meta csp-nonce) through; nothing else
    // inline. Styles set through the CSSOM (ELK positions, uPlot sizes) are not restricted by CSP.
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    "connect-src 'none'",
    // The graph view lays out in a Web Worker started from a blob: URL (webview/elkWorker.ts).
    'worker-src blob:',
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${page.styles.map((s) => `<link rel="stylesheet" href="${asset(s)}">`).join('\n')}
<title>${page.title}</title>
</head>
<body>
<div id="app" aria-busy="true"></div>
<script nonce="${nonce}" src="${asset(page.script)}"></script>
</body>
</html>`;
}
