/**
 * Items per list page. Pages keep each response, and the objects the client builds from it, small:
 * one 10,000-namespace response cost the rotating process more memory than the rest of the cycle.
 * client-go's pager uses the same default.
 */
export const LIST_PAGE_SIZE = 500;

/** One page of a chunked list: its items, and the token of the next page (absent or "" on the last). */
export interface ListPage<T> {
  /** null: the API server answers an empty metadata-only list with `"items": null` (a Go nil slice). */
  readonly items: T[] | null;
  readonly next?: string;
}

/**
 * A chunked list (limit + continue), one page at a time: `read` fetches the page after the token it
 * is given (undefined: the first). A caller that handles each page before the next is read never
 * holds more than one.
 */
export async function* listPages<T>(
  read: (next: string | undefined) => Promise<ListPage<T>>,
): AsyncGenerator<T[]> {
  let next: string | undefined;
  do {
    const page = await read(next);
    yield page.items ?? [];
    next = page.next || undefined;
  } while (next);
}
