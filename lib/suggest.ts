// "Did you mean" for config values and keys (issue 16 §4): the nearest known spelling of a word.

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of two neighbours as one
 * edit each (optimal string alignment, the restricted Damerau-Levenshtein distance): a swap is the
 * commonest typo ("tragte"), which plain Levenshtein counts as two.
 */
export function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.length][b.length];
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when none is within a third of
 * the word's length (at least 1, at most 3 edits): beyond that a suggestion is a guess, not a typo.
 * Ties go to the earlier candidate, so callers list the likelier ones first.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
    const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
    let best: string | undefined;
    let bestDistance = limit + 1;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return best;
}
