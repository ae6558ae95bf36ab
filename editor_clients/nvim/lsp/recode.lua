-- The `recode` LSP config, found on 'runtimepath' by `vim.lsp.enable('recode')` (Neovim 0.11+).
--
-- No setup() call: options come from `vim.g.recode` (see :help g:recode), read whenever Neovim
-- resolves this config. Override any field with `vim.lsp.config('recode', { ... })`.
return require('recode').config()
