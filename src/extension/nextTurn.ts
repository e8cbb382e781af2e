/** Gives the extension host's thread back for one turn of the event loop (between slices of long work). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
