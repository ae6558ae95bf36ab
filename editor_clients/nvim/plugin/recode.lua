-- `:Recode {subcommand}`: fix-all, restart and info for the recode language server.
-- The server itself starts through `vim.lsp.enable('recode')` (lsp/recode.lua).

if vim.g.loaded_recode then
  return
end
vim.g.loaded_recode = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify('recode: needs Neovim 0.11 or newer (vim.lsp.enable)', vim.log.levels.ERROR)
  return
end

-- Each subcommand, with its one-line description for `:Recode` without arguments.
local subcommands = {
  fixall = {
    desc = 'apply every safe fix of the current buffer (unsafe ones too with unsafe_fixes)',
    run = function()
      require('recode').fix_all(0)
    end,
  },
  restart = {
    desc = 're-read vim.g.recode and restart the server',
    run = function()
      require('recode').restart()
    end,
  },
  info = {
    desc = 'show the configuration and the running clients',
    run = function()
      require('recode').info()
    end,
  },
}

vim.api.nvim_create_user_command('Recode', function(args)
  local name = args.fargs[1]
  local names = vim.tbl_keys(subcommands)
  table.sort(names)
  if not name then
    -- A bare `:Recode` lists what it can do.
    local lines = vim.tbl_map(function(n)
      return ('  :Recode %-8s %s'):format(n, subcommands[n].desc)
    end, names)
    vim.notify('recode: subcommands:\n' .. table.concat(lines, '\n'), vim.log.levels.INFO)
    return
  end
  local sub = subcommands[name]
  if not sub then
    local msg = ('recode: unknown subcommand %q; expected one of: %s'):format(name, table.concat(names, ', '))
    vim.notify(msg, vim.log.levels.ERROR)
    return
  end
  sub.run()
end, {
  nargs = '?',
  desc = 'ReCode: fixall | restart | info',
  complete = function(lead)
    local names = vim.tbl_keys(subcommands)
    table.sort(names)
    return vim.tbl_filter(function(n)
      return vim.startswith(n, lead)
    end, names)
  end,
})
