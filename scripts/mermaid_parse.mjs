// Parses Mermaid diagrams with Mermaid's own parser (the one GitHub's renderer runs), in
// node without a browser: jsdom gives DOMPurify the window it needs at import time.
//
// Usage: mermaid-parse < diagram.mmd          one diagram on standard input
//        mermaid-parse --markdown < report.md  every ```mermaid block of a markdown text
// Prints the diagram type of each; exits 1 with the parser's message on the first error,
// 2 when a markdown text holds no mermaid block.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

const text = readFileSync(0, 'utf8');
let diagrams = [text];
if (process.argv.includes('--markdown')) {
    diagrams = [...text.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    if (diagrams.length === 0) {
        console.error('no ```mermaid block in the markdown');
        process.exit(2);
    }
}
for (const [i, diagram] of diagrams.entries()) {
    try {
        const result = await mermaid.parse(diagram);
        console.log(result.diagramType);
    } catch (e) {
        console.error(`diagram ${i + 1}: ${e.message ?? e}`);
        process.exit(1);
    }
}
