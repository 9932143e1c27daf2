// Filled in by the intake API work (issue 4): the callback_url policy shared by API and worker.
export {}
