/** Reading the project's Markdown the way the tests of test/docs need it: pages, sections, tables. */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** README.md and every page of docs/, as paths relative to the repository root. */
export function markdownPages(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

export function readPage(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

/** The text with fenced code blocks blanked out (their lines kept, so line numbers stay right). */
export function withoutCodeBlocks(text: string): string {
  let fenced = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return "";
      }
      return fenced ? "" : line;
    })
    .join("\n");
}

/** Headings outside code blocks: level and text. */
export function headings(text: string): { level: number; text: string }[] {
  return withoutCodeBlocks(text)
    .split("\n")
    .flatMap((line) => {
      const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
      return match ? [{ level: match[1]!.length, text: match[2]! }] : [];
    });
}

/**
 * The text under a heading, up to the next heading of the same or a higher level. Throws when the
 * page has no such heading, so a renamed section fails the test that reads it.
 */
export function section(text: string, heading: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.replace(/^#+\s+/, "") === heading && /^#+\s/.test(line));
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((line, i) => {
    const hashes = /^(#+)\s/.exec(line);
    return i > start && hashes !== null && hashes[1]!.length <= level;
  });
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** The cells of the table rows in a piece of Markdown (the header and separator rows left out). */
export function tableRows(text: string): string[][] {
  const rows = withoutCodeBlocks(text)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) =>
      line
        .replace(/^\|/, "")
        .replace(/\|\s*$/, "")
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  // Each table starts with a header row followed by a |---| row: leave both out.
  return rows.filter((row, i) => !isSeparator(row) && !isSeparator(rows[i + 1] ?? []));
}

function isSeparator(row: string[]): boolean {
  return row.length > 0 && row.every((cell) => /^:?-+:?$/.test(cell));
}

/** The first `code span` of a table cell, or undefined. */
export function firstCode(cell: string): string | undefined {
  return /`([^`]+)`/.exec(cell)?.[1];
}

/** Every `code span` of a piece of text. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}

/**
 * The anchor GitHub gives a heading: its text as rendered (code marks and link targets dropped),
 * lower-cased, punctuation removed, spaces turned into hyphens; a repeated heading gets -1, -2, ….
 */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text: heading } of headings(text)) {
    const base = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/`/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The targets of the inline links `[text](target)` outside code blocks, with their line numbers. */
export function links(text: string): { target: string; line: number }[] {
  const prose = withoutCodeBlocks(text);
  return [...prose.matchAll(/\[(?:[^[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => ({
    target: match[1]!,
    line: prose.slice(0, match.index).split("\n").length,
  }));
}
