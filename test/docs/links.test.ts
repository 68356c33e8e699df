/** Every relative link of README.md and docs/*.md reaches a file, and a heading when it names one. */
import { existsSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { anchors, links, markdownPages, readPage, ROOT } from "./markdown.js";

const pages = markdownPages();

/** The links of a page that stay in the repository: no scheme (https:, mailto:), no absolute path. */
function relativeLinks(page: string) {
  return links(readPage(page)).filter(
    ({ target }) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("/"),
  );
}

/** What is wrong with one link, or undefined when it resolves. */
function brokenLink(page: string, target: string): string | undefined {
  const [pathPart = "", anchor] = target.split("#", 2) as [string, string | undefined];
  const file = pathPart === "" ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(pathPart));
  const shown = relative(ROOT, file);
  if (!file.startsWith(ROOT)) return `${shown} is outside the repository`;
  if (!existsSync(file)) return `${shown} does not exist`;
  if (anchor === undefined || anchor === "") return undefined;
  if (!file.endsWith(".md") || statSync(file).isDirectory())
    return `#${anchor} on ${shown}, which is not a page`;
  const known = anchors(readPage(relative(ROOT, file)));
  return known.has(anchor) ? undefined : `${shown} has no heading #${anchor}`;
}

describe("links between the pages", () => {
  it("finds the pages and their links", () => {
    expect(pages).toContain("README.md");
    expect(pages.length).toBeGreaterThan(5);
    expect(relativeLinks("README.md").length).toBeGreaterThan(10);
  });

  it.each(pages)("every relative link of %s resolves, anchors included", (page) => {
    const broken = relativeLinks(page).flatMap(({ target, line }) => {
      const problem = brokenLink(page, target);
      return problem ? [`${page}:${line} (${target}): ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it("links every page of docs/ from the README", () => {
    const linked = new Set(relativeLinks("README.md").map(({ target }) => target.split("#")[0]));
    expect(pages.filter((page) => page !== "README.md" && !linked.has(page))).toEqual([]);
  });
});
