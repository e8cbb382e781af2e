/**
 * The tracer as one `python -c` program: its files in src/python/ (bundled as text) joined in the order their
 * names are needed (laurel_trace.py finds Tracer defined and skips its imports of the others).
 */
import moduleRunner from '../python/laurel_import.py';
import traceDriver from '../python/laurel_trace.py';
import traceGraph from '../python/laurel_trace_graph.py';
import traceSpec from '../python/laurel_trace_spec.py';

export const TRACER_FILES: readonly [string, string][] = [
  ['laurel_import.py', moduleRunner],
  ['laurel_trace_spec.py', traceSpec],
  ['laurel_trace_graph.py', traceGraph],
  ['laurel_trace.py', traceDriver],
];

export const TRACER_SOURCE = TRACER_FILES.map(([name, text]) => `# ---- ${name} ----\n${text}`).join('\n');
