// Export: the SVG with its theme colours written into attributes (CSS variables do not exist outside the
// webview), and a PNG drawn from that SVG on a canvas.
import type { Box } from './layout';

const STYLE_PROPS = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'opacity', 'fill-opacity', 'stroke-opacity', 'font-family', 'font-size', 'font-weight'] as const;

/** Standalone SVG text of the graph at 1:1, with the computed theme colours inlined. */
export function serializeSvg(svg: SVGSVGElement, bounds: Box): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const cloneContent = clone.querySelector<SVGGElement>('g.viewport')!;
  // Walk the original and the clone in step: computed styles exist only on the live elements.
  const src = [svg, ...svg.querySelectorAll('*')];
  const dst = [clone, ...clone.querySelectorAll('*')];
  src.forEach((s, i) => {
    const d = dst[i];
    if (!d || !(s instanceof SVGElement)) return;
    const cs = getComputedStyle(s);
    for (const p of STYLE_PROPS) {
      const v = cs.getPropertyValue(p);
      if (v) d.setAttribute(p, v);
    }
    d.removeAttribute('class');
    d.removeAttribute('tabindex');
  });
  cloneContent.setAttribute('transform', `translate(${-bounds.x} ${-bounds.y})`);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(Math.ceil(bounds.width)));
  clone.setAttribute('height', String(Math.ceil(bounds.height)));
  clone.setAttribute('viewBox', `0 0 ${Math.ceil(bounds.width)} ${Math.ceil(bounds.height)}`);
  clone.removeAttribute('style');
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', getComputedStyle(document.body).backgroundColor || '#ffffff');
  clone.insertBefore(bg, clone.firstChild);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  // In chunks: spreading a whole large array into fromCharCode overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The SVG rendered to PNG, as a data URL; scaled so the canvas stays within the browser's limits. */
export async function svgToPng(svgText: string, width: number, height: number): Promise<string> {
  const scale = Math.min(2, 16_000 / Math.max(width, height), Math.sqrt(100e6 / Math.max(1, width * height)));
  const img = new Image();
  // data: is what the CSP allows for images (img-src cspSource data:).
  img.src = 'data:image/svg+xml;base64,' + base64(new TextEncoder().encode(svgText));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.drawImage(img, 0, 0, width, height);
  return canvas.toDataURL('image/png');
}
