/**
 * The minimal edits that switch residual lines of a .py model. A plain add `x + f(x)` becomes
 * `self.laurel_f(f(x), x)`, its class's `__init__` gets one line creating the module (with the original text
 * in a comment, so switching back needs nothing else) and the file gets the import block once. Switching to
 * plain removes exactly what was added: plain on every site gives back the original bytes.
 */
import { PlanError } from '../laurel/planSpec';
import type { VariantChoice } from '../laurel/variants';
import type { TextEdit } from '../write/planEdits';
import { importBlock, initLine, laurelCtor } from './pyLaurelText';
import type { OpenPyModel, PySite } from './pyModel';

const same = (a: VariantChoice, b: VariantChoice): boolean => a.variant === b.variant && (a.variant === 'plain' || JSON.stringify(a.options) === JSON.stringify(b.options));

export function planPyEdits(m: OpenPyModel, choices: Map<string, VariantChoice>): TextEdit[] {
  const text = m.text;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits: TextEdit[] = [];
  const inserts = new Map<number, string[]>();
  const used = new Map<string, Set<string>>();
  // LaurelResidual calls on lines no measured model ran stay as they are (and keep the import).
  const lines = new Set(m.sites.map((s) => s.line));
  let laurelAfter = m.statics.classes.reduce((n, c) => n + c.laurel.filter((l) => !lines.has(l.line)).length, 0);
  for (const site of m.sites) {
    const choice = choices.get(site.id) ?? site.current;
    if (choice.variant !== 'plain') laurelAfter++;
    if (same(choice, site.current)) continue;
    if (!site.editable) throw new PlanError(`${site.id} (${site.code}) cannot be switched in place: ${site.reason ?? 'not editable'}`);
    if (!site.measured && choice.variant !== 'plain') throw new PlanError(`${site.id}: measure the model first (one forward pass gives the width and which operand is the shortcut)`);
    if (site.laurel) {
      const l = site.laurel;
      if (!l.initLine || l.replaces === null) throw new PlanError(`${site.id}: ${site.reason ?? 'its __init__ line is missing'}`);
      if (choice.variant === 'plain') {
        const augassign = /^\s*[\w.]+\s*\+=/.test(l.replaces);
        const span = augassign ? l.stmt : l.call;
        edits.push({ offset: span.from, length: span.to - span.from, content: l.replaces });
        edits.push({ offset: l.initLine.from, length: l.initLine.to - l.initLine.from, content: '' });
      } else {
        const indent = /^[ \t]*/.exec(l.initLine.text)?.[0] ?? '';
        const lineEol = /\r?\n$/.exec(l.initLine.text)?.[0] ?? '';
        edits.push({ offset: l.initLine.from, length: l.initLine.to - l.initLine.from, content: initLine(indent, l.name, laurelCtor(choice, site.axis), l.replaces, lineEol) });
      }
      continue;
    }
    edits.push(...newModule(m, site, choice, eol, inserts, used));
  }
  for (const [offset, lines] of inserts) edits.push({ offset, length: 0, content: lines.join('') });
  const block = importBlock(eol);
  const at = text.indexOf(block);
  if (laurelAfter > 0 && at === -1) edits.push({ offset: m.statics.importAt, length: 0, content: block });
  if (laurelAfter === 0 && at !== -1 && m.statics.classes.some((c) => c.laurel.length)) edits.push({ offset: at, length: block.length, content: '' });
  return edits.sort((a, b) => b.offset - a.offset);
}

function newModule(m: OpenPyModel, site: PySite, choice: VariantChoice, eol: string, inserts: Map<number, string[]>, used: Map<string, Set<string>>): TextEdit[] {
  const add = site.add;
  const cls = m.statics.classes.find((c) => c.name === site.cls);
  if (!add || !cls?.initInsert) throw new PlanError(`${site.id}: ${site.reason ?? 'no add to rewrite'}`);
  const names = used.get(cls.name) ?? new Set([...cls.attrs, ...cls.laurel.map((l) => l.name)]);
  used.set(cls.name, names);
  let module = `laurel_${add.nameHint}`;
  for (let n = 2; names.has(module); n++) module = `laurel_${add.nameHint}_${n}`;
  names.add(module);
  const [shortcut, branch] = site.shortcutIndex === 0 ? [add.left, add.right] : [add.right, add.left];
  const call = `self.${module}(${branch.text}, ${shortcut.text})`;
  const content = add.form === 'augassign' ? `${add.target} = ${call}` : call;
  const list = inserts.get(cls.initInsert.offset) ?? [];
  list.push(initLine(cls.initInsert.indent, module, laurelCtor(choice, site.axis), add.replace.text, eol));
  inserts.set(cls.initInsert.offset, list);
  return [{ offset: add.replace.from, length: add.replace.to - add.replace.from, content }];
}
