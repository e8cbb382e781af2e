/**
 * Problems of a .py file's `# laurel:` options comment (an unknown key, a key given twice, an unknown loss) as
 * diagnostics at their line and column while the file is edited, so a typo shows before Train or Compare refuses
 * it. Reading the comment is a scan of the comment lines (core/pysource/pyOptions.ts), cheap on every change.
 */
import * as vscode from 'vscode';
import { readPyOptions } from '../core/pysource/pyOptions';

export function registerPyOptionDiagnostics(): vscode.Disposable {
  const diagnostics = vscode.languages.createDiagnosticCollection('laurel-py-options');
  const check = (doc: vscode.TextDocument): void => {
    if (doc.languageId !== 'python') return;
    const problems = readPyOptions(doc.getText()).problems;
    diagnostics.set(
      doc.uri,
      problems.map((p) => {
        const line = doc.lineAt(Math.min(p.line - 1, doc.lineCount - 1));
        const start = Math.min(p.column - 1, line.text.length);
        const word = /^[^\s;=]*/.exec(line.text.slice(start))![0].length;
        const d = new vscode.Diagnostic(new vscode.Range(line.lineNumber, start, line.lineNumber, start + Math.max(1, word)), p.message, vscode.DiagnosticSeverity.Error);
        d.source = 'laurel';
        return d;
      }),
    );
  };
  vscode.workspace.textDocuments.forEach(check);
  return vscode.Disposable.from(
    diagnostics,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    vscode.workspace.onDidCloseTextDocument((d) => diagnostics.delete(d.uri)),
  );
}
