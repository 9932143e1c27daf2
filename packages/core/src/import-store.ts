// Filled in by the import store work (issue 2).
export {}
