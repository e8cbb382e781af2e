#!/usr/bin/env node
// The VSIX's README (its page in the Extensions view): media/README.md with each local image inlined as a
// data: URI. VS Code's extension page allows only https: and data: images, so a relative path breaks and an
// https one needs the internet; inlined, the page shows its images offline. Writes dist/vsix-README.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const source = join(root, 'media', 'README.md');
const TYPES = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif' };
const text = readFileSync(source, 'utf8').replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (all, alt, path) => {
  if (/^[a-z]+:/i.test(path)) return all;
  const type = TYPES[extname(path).toLowerCase()];
  if (!type) throw new Error(`media/README.md: ${path}: only ${Object.keys(TYPES).join(' ')} images can be inlined`);
  // An HTML <img>: vsce takes a data: source there as it is (a markdown image it would try to rewrite).
  const escaped = alt.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<img alt="${escaped}" src="data:${type};base64,${readFileSync(join(root, path)).toString('base64')}">`;
});
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', 'vsix-README.md'), text);
