// 'LAuReL: Open Training Runs': the run and comparison records saved under the workspace (or browsed for),
// listed by what they hold, when and on what, and read back checked (parseRunFile says where and what is wrong).
import { posix } from 'node:path';
import * as vscode from 'vscode';
import type { ComparisonRecord, RunRecord } from '../protocol/runRecords';
import { parseRunFile } from './trainingRecords';

export interface RunsPick extends vscode.QuickPickItem {
  uri: vscode.Uri;
  /** The label without its icon. */
  name: string;
  runs: RunRecord[];
  comparison?: ComparisonRecord;
  startedAt: string;
}

/** A quick-pick entry for one record file: what it holds, when, on what. */
function runsPick(uri: vscode.Uri, parsed: { runs: RunRecord[]; comparison?: ComparisonRecord }): RunsPick {
  const first = parsed.runs[0]!;
  const model = first.model.file.split(/[\\/]/).pop() ?? first.model.file;
  const when = first.startedAt.replace('T', ' ').slice(0, 16);
  const losses = parsed.runs.map((r) => `${r.name} ${r.final.loss === null ? '?' : r.final.loss.toFixed(4)}`).join(' · ');
  const name = parsed.comparison ? `Comparison of ${model}: ${parsed.runs.map((r) => r.name).join(', ')}` : first.name === model ? `Run of ${model}` : `Run ${first.name} of ${model}`;
  return {
    uri,
    name,
    label: `${parsed.comparison ? '$(graph-line)' : '$(pulse)'} ${name}`,
    description: `${when} · ${first.dataset.name}`,
    detail: `final loss: ${losses} · ${vscode.workspace.asRelativePath(uri)}`,
    runs: parsed.runs,
    ...(parsed.comparison ? { comparison: parsed.comparison } : {}),
    startedAt: parsed.comparison?.startedAt ?? first.startedAt,
  };
}

/** A record file read and checked (RunFileError says where and what when it is not one). */
async function readRunsPick(uri: vscode.Uri, shownAs: string): Promise<RunsPick> {
  return runsPick(uri, parseRunFile(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), shownAs));
}

/** The records the user picks (listed from the workspace, or browsed for); undefined when none. */
export async function pickSavedRuns(): Promise<RunsPick[] | undefined> {
  const found = await vscode.workspace.findFiles('**/{run,comparison}.json', '**/node_modules/**', 2000);
  const entries: RunsPick[] = [];
  for (const uri of found) {
    try {
      entries.push(await readRunsPick(uri, vscode.workspace.asRelativePath(uri)));
    } catch {
      // another tool's run.json, or a damaged one: not ours to list (a browsed file says what is wrong)
    }
  }
  // A comparison's own runs (runs/<job>/<n-plan>/run.json) are listed through it, not one by one.
  const comparisonDirs = new Set(entries.filter((e) => e.comparison).map((e) => posix.dirname(e.uri.path)));
  const listed = entries.filter((e) => e.comparison || !comparisonDirs.has(posix.dirname(posix.dirname(e.uri.path))));
  listed.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const browse: vscode.QuickPickItem = { label: '$(folder-opened) Browse…', description: 'a run.json or comparison.json anywhere', alwaysShow: true };
  const picked = await vscode.window.showQuickPick<vscode.QuickPickItem>([...listed, browse], {
    canPickMany: true,
    title: 'LAuReL: training runs to show',
    placeHolder: listed.length
      ? 'A comparison opens as it was; runs picked together are shown side by side (a plain run, else the oldest, is the baseline)'
      : 'No LAuReL runs found in the workspace; browse for a run.json or comparison.json',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked || picked.length === 0) return;
  const chosen = picked.filter((p): p is RunsPick => p !== browse);
  if (picked.includes(browse)) {
    const files = await vscode.window.showOpenDialog({ title: 'LAuReL: run records', canSelectMany: true, openLabel: 'Show', filters: { 'LAuReL runs': ['json'] } });
    for (const uri of files ?? []) {
      try {
        chosen.push(await readRunsPick(uri, uri.fsPath));
      } catch (e) {
        void vscode.window.showErrorMessage(`LAuReL: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
  }
  return chosen.length ? chosen : undefined;
}
