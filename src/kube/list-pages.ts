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

/** The paging parameters of a generated client's list call. */
export interface PageRequest {
  readonly limit: number;
  readonly _continue: string | undefined;
}

/**
 * `listPages` over a list call of the generated client (listNamespace, listNamespacedPod, …),
 * `LIST_PAGE_SIZE` items a page, the next token read from the list's metadata.
 */
export function apiListPages<T>(
  list: (page: PageRequest) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
): AsyncGenerator<T[]> {
  return listPages(async (next) => {
    const page = await list({ limit: LIST_PAGE_SIZE, _continue: next });
    return { items: page.items, next: page.metadata?._continue };
  });
}
