import { DOCS_URL } from './docs';

/**
 * Where kubepin is described (for SARIF's `informationUri`): its repository, the one
 * {@link DOCS_URL} (and package.json's "repository") names.
 */
export function informationUrl(): string {
  return DOCS_URL.replace(/\/blob\/[^/]+\/docs$/, '');
}

/** The absolute URL of the doc `page` at the heading `anchor`, for links that must work anywhere (SARIF `helpUri`). */
export function docsUrl(page: string, anchor?: string): string {
  return `${DOCS_URL}/${page}${anchor ? `#${anchor}` : ''}`;
}
