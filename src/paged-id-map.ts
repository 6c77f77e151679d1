const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

interface Page<J> {
  slots: (J | undefined)[];
  live: number;
}

/**
 * Jobs by id. Ids grow monotonically, so they are grouped in pages of 1,024 consecutive
 * ids: adding and removing a job is an array store, and the map of pages changes once
 * per 1,024 jobs. A `Map` of every job costs several times more per job at a million
 * jobs. A page lives while any of its ids does.
 */
export class PagedIdMap<J> {
  private readonly pages = new Map<number, Page<J>>();
  private lastPageNumber = -1;
  private lastPage: Page<J> | undefined = undefined;
  /**
   * The last page that emptied, kept for the next new page: with one job live at a time
   * (put, reserve, delete in turn) every job would otherwise empty its page and allocate a
   * new one of 1,024 slots.
   */
  private spare: Page<J> | undefined = undefined;
  size = 0;

  get(id: number): J | undefined {
    return this.page(id >>> 0 === id ? Math.floor(id / PAGE_SIZE) : -1)?.slots[id & PAGE_MASK];
  }

  set(id: number, job: J): void {
    const number = Math.floor(id / PAGE_SIZE);
    let page = this.page(number);
    if (page === undefined) {
      page = this.spare ?? { slots: new Array(PAGE_SIZE), live: 0 };
      this.spare = undefined;
      this.pages.set(number, page);
      this.lastPageNumber = number;
      this.lastPage = page;
    }
    if (page.slots[id & PAGE_MASK] === undefined) {
      page.live++;
      this.size++;
    }
    page.slots[id & PAGE_MASK] = job;
  }

  delete(id: number): boolean {
    const number = Math.floor(id / PAGE_SIZE);
    const page = this.page(number);
    if (page === undefined || page.slots[id & PAGE_MASK] === undefined) return false;
    page.slots[id & PAGE_MASK] = undefined;
    this.size--;
    if (--page.live === 0) {
      this.pages.delete(number);
      // Every slot is empty again.
      this.spare = page;
      if (this.lastPage === page) {
        this.lastPage = undefined;
        this.lastPageNumber = -1;
      }
    }
    return true;
  }

  *values(): IterableIterator<J> {
    for (const page of this.pages.values()) {
      for (const job of page.slots) if (job !== undefined) yield job;
    }
  }

  private page(number: number): Page<J> | undefined {
    if (number === this.lastPageNumber) return this.lastPage;
    const page = this.pages.get(number);
    if (page !== undefined) {
      this.lastPageNumber = number;
      this.lastPage = page;
    }
    return page;
  }
}
