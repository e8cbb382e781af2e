/** elkjs's elk-worker.min.js as text (esbuild.mjs resolves it), started by webview/elkWorker.ts from a blob: URL. */
declare module 'elk-worker-source' {
  const source: string;
  export default source;
}
