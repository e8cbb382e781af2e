/** Text widths in the view's font, which ELK needs as node sizes before it lays anything out (cached per text). */
import type { Measure } from './layout';

const ctx = document.createElement('canvas').getContext('2d')!;
const fontFamily = getComputedStyle(document.body).getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
const widths = new Map<string, number>();

export const measureText: Measure = (text, bold) => {
  const key = (bold ? 'b' : 'n') + text;
  let w = widths.get(key);
  if (w === undefined) {
    ctx.font = `${bold ? 600 : 400} 12px ${fontFamily}`;
    w = ctx.measureText(text).width;
    widths.set(key, w);
  }
  return w;
};
