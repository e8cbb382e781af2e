/**
 * Characters an exporter never writes raw, whatever the target language: controls (C0, C1, DEL; NUL makes a
 * Python module that does not import), format characters (bidi overrides, zero-width), lone surrogates,
 * private-use and unassigned code points, and every separator but the plain space (U+2028, U+2029, NBSP).
 * With \n, \r, \v, \f, \x1c-\x1e and \x85 among them, no escaped name can end a line or start a new one.
 * Each target escapes them its own way (python.ts, jsonText in exportText.ts). Global: use with replace().
 */
export const UNSAFE_CHARS = /[\p{C}\p{Z}]/gu;
