// Filled in by the quick-import schema work (issue 2).
export {}
