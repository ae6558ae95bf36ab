-- ReCode for Neovim: options from `vim.g.recode`, the LSP config, and what `:Recode` does.
--
-- The LSP config itself is `lsp/recode.lua` (picked up by `vim.lsp.enable('recode')`); it calls
-- `config()` here so that `:checkhealth recode` and `:Recode info` read the options the same way.

local M = {}

M.NAME = 'recode'
M.FIX_ALL = 'source.fixAll.recode'
M.DEFAULT_CMD = { 'recode-lsp' }
-- The nearest of these decides the project (and its `[tool.recode]`).
M.ROOT_MARKERS = { 'pyproject.toml', 'setup.cfg', 'setup.py', '.git' }

-- Every key `vim.g.recode` may have; anything else is a typo worth reporting.
local KNOWN = {
  cmd = true,
  interpreter = true,
  targets = true,
  model = true,
  unsafe_fixes = true,
  too_new = true,
  libraries = true,
  api_docs = true,
  hover_docs_timeout_ms = true,
  debounce_ms = true,
  max_file_bytes = true,
  max_file_lines = true,
  settings = true,
}

-- The numeric options and their key in the server's `recode` section.
local NUMBERS = {
  hover_docs_timeout_ms = 'hoverDocsTimeoutMs',
  debounce_ms = 'debounceMs',
  max_file_bytes = 'maxFileBytes',
  max_file_lines = 'maxFileLines',
}

-- What the server said about each client's projects (`recode/status`): client id -> root -> status.
M.projects = {}
M.STATUS = 'recode/status'

-- `pcall(vim.validate, ...)` rather than calling it from Lua: the error then carries no
-- "file:line:" prefix, so the user reads only what is wrong.
local function check(name, value, validator, optional, message)
  local ok, err = pcall(vim.validate, name, value, validator, optional, message)
  if not ok then
    error(err, 0)
  end
end

local function check_strings(name, value)
  check(name, value, 'table', true)
  if value == nil then
    return
  end
  check(name, value, vim.islist, false, 'a list of strings')
  for i, item in ipairs(value) do
    check(('%s[%d]'):format(name, i), item, 'string')
  end
end

local function check_string(name, value)
  check(name, value, 'string', true)
  if value ~= nil and vim.trim(value) == '' then
    error(name .. ': expected a non-empty string', 0)
  end
end

--- Reads and checks `vim.g.recode`.
--- @return table? opts the options (nil when they are invalid)
--- @return string? err what is wrong, as one line
function M.options()
  local opts = vim.g.recode
  if opts == nil then
    return {}
  end
  local ok, err = pcall(function()
    check('g:recode', opts, 'table')
    local unknown = {}
    for key in pairs(opts) do
      if not KNOWN[key] then
        table.insert(unknown, tostring(key))
      end
    end
    if #unknown > 0 then
      table.sort(unknown)
      error('g:recode: unknown option(s): ' .. table.concat(unknown, ', '), 0)
    end
    -- `cmd` is a list (program and arguments) or a single path to the server.
    check('g:recode.cmd', opts.cmd, { 'string', 'table' }, true)
    if type(opts.cmd) == 'table' then
      check_strings('g:recode.cmd', opts.cmd)
      if #opts.cmd == 0 then
        error('g:recode.cmd: expected a non-empty list', 0)
      end
    elseif opts.cmd ~= nil then
      check_string('g:recode.cmd', opts.cmd)
    end
    check_string('g:recode.interpreter', opts.interpreter)
    check_strings('g:recode.targets', opts.targets)
    for i, target in ipairs(opts.targets or {}) do
      -- The server parses targets properly; catch the common slip (a bare name) early.
      if not target:match('^%s*[%w_.%-]+%s*[=<>!~]=?') then
        error(('g:recode.targets[%d]: expected "library==version", got %q'):format(i, target), 0)
      end
    end
    check('g:recode.model', opts.model, 'table', true)
    if opts.model ~= nil then
      for key in pairs(opts.model) do
        if key ~= 'endpoint' and key ~= 'name' and key ~= 'timeout' then
          error('g:recode.model: unknown key ' .. tostring(key) .. ' (expected endpoint, name, timeout)', 0)
        end
      end
      check_string('g:recode.model.endpoint', opts.model.endpoint)
      if opts.model.endpoint and not opts.model.endpoint:match('^https?://[^/]') then
        error(('g:recode.model.endpoint: expected an http(s) URL, got %q'):format(opts.model.endpoint), 0)
      end
      check_string('g:recode.model.name', opts.model.name)
      check('g:recode.model.timeout', opts.model.timeout, 'number', true)
    end
    check('g:recode.unsafe_fixes', opts.unsafe_fixes, 'boolean', true)
    check('g:recode.too_new', opts.too_new, 'boolean', true)
    check('g:recode.api_docs', opts.api_docs, 'boolean', true)
    for option in pairs(NUMBERS) do
      local name = 'g:recode.' .. option
      check(name, opts[option], 'number', true)
      if opts[option] ~= nil and opts[option] < 0 then
        error(('%s: expected a number >= 0, got %s'):format(name, opts[option]), 0)
      end
    end
    check_strings('g:recode.libraries', opts.libraries)
    check('g:recode.settings', opts.settings, 'table', true)
  end)
  if not ok then
    return nil, tostring(err)
  end
  return opts
end

--- The server command: `g:recode.cmd`, else `recode-lsp` from PATH.
--- @param opts table checked options
--- @return string[]
function M.cmd(opts)
  if type(opts.cmd) == 'string' then
    return { vim.fn.expand(opts.cmd) }
  end
  if type(opts.cmd) == 'table' then
    local cmd = vim.deepcopy(opts.cmd)
    cmd[1] = vim.fn.expand(cmd[1])
    return cmd
  end
  return vim.deepcopy(M.DEFAULT_CMD)
end

--- The server's `recode` settings section (see recode_lsp/server/settings.py), built from
--- the options; `g:recode.settings` is passed through last, for keys without an option here.
--- @param opts table checked options
--- @return table
function M.settings(opts)
  local section = {
    targets = opts.targets,
    interpreter = opts.interpreter,
    unsafeFixes = opts.unsafe_fixes,
    tooNew = opts.too_new,
    libraries = opts.libraries,
    apiDocs = opts.api_docs,
  }
  for option, key in pairs(NUMBERS) do
    section[key] = opts[option]
  end
  if opts.model then
    section.model = { endpoint = opts.model.endpoint, name = opts.model.name, timeout = opts.model.timeout }
  end
  return vim.tbl_deep_extend('force', section, opts.settings or {})
end

local function notify(msg, level)
  vim.notify('recode: ' .. msg, level or vim.log.levels.INFO, { title = 'ReCode' })
end
M.notify = notify

--- The config for `vim.lsp.enable('recode')`; read afresh each time the config is resolved
--- (at the first buffer after `vim.lsp.enable`, and after `:Recode restart`).
--- @return vim.lsp.Config
function M.config()
  local opts, err = M.options()
  local problem = err and ('invalid vim.g.recode: %s'):format(err)
  local cmd = opts and M.cmd(opts) or M.DEFAULT_CMD
  -- A cmd set with vim.lsp.config('recode', ...) wins over this one: then it is not ours to check.
  local override = (rawget(vim.lsp.config, '_configs') or {})[M.NAME] or {}
  if not problem and override.cmd == nil and vim.fn.executable(cmd[1]) == 0 then
    problem = ('server command %q not found: install recode-lsp or set vim.g.recode.cmd'):format(cmd[1])
  end
  if problem then
    -- Neovim would refuse such a config silently (a line in lsp.log); instead the config
    -- never starts (root_dir does not call on_dir) and says why once, at the first Python
    -- buffer. A function cmd keeps Neovim's own executable check out of the way.
    local told = false
    return {
      cmd = function()
        error(problem, 0)
      end,
      filetypes = { 'python' },
      root_dir = function()
        if not told then
          told = true
          -- Scheduled: an error message inside the FileType autocmd would turn into an
          -- exception for whoever opened the buffer (a plugin calling vim.cmd.edit).
          vim.schedule(function()
            notify(problem .. ' (see :help g:recode, then :Recode restart)', vim.log.levels.ERROR)
          end)
        end
      end,
      _recode_error = problem,
    }
  end
  return {
    cmd = cmd,
    filetypes = { 'python' },
    root_markers = M.ROOT_MARKERS,
    settings = { recode = M.settings(opts) },
    -- The server sends `recode/status` (the targets each project resolved to) to clients that ask.
    capabilities = { experimental = { recodeStatus = true } },
    handlers = {
      [M.STATUS] = function(_, status, ctx)
        if type(status) == 'table' and status.root then
          M.projects[ctx.client_id] = M.projects[ctx.client_id] or {}
          M.projects[ctx.client_id][status.root] = status
        end
      end,
    },
    on_exit = function(_, _, client_id)
      M.projects[client_id] = nil
    end,
  }
end

--- The state of the recode client(s) and the targets they use, one line each ("" when none).
--- @return string[]
function M.state_lines()
  local lines = {}
  local config = vim.lsp.config[M.NAME] or {}
  if config._recode_error then
    table.insert(lines, 'state: failed: ' .. config._recode_error)
    return lines
  end
  local clients = vim.lsp.get_clients({ name = M.NAME })
  if #clients == 0 then
    table.insert(lines, 'state: not running (it starts when a Python buffer opens)')
  end
  for _, client in ipairs(clients) do
    local state = client:is_stopped() and 'stopped' or (client.initialized and 'running' or 'starting')
    table.insert(lines, ('state: client %d %s'):format(client.id, state))
    local roots = vim.tbl_keys(M.projects[client.id] or {})
    table.sort(roots)
    if #roots == 0 and state == 'running' then
      table.insert(lines, '  targets: not known yet (the server reports them once a file is analysed)')
    end
    for _, root in ipairs(roots) do
      local status = M.projects[client.id][root]
      table.insert(lines, ('  targets for %s: %s'):format(root, status.summary or '?'))
      for _, problem in ipairs(status.problems or {}) do
        table.insert(lines, '  problem: ' .. problem)
      end
    end
  end
  return lines
end

--- The recode client attached to a buffer (nil when none).
--- @param bufnr integer
--- @return vim.lsp.Client?
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.NAME })[1]
end

--- Applies the server's `source.fixAll.recode` action to the buffer.
--- @param bufnr integer? default: the current buffer
--- @param on_done fun(applied: boolean)? called after the edit (or when there was none)
function M.fix_all(bufnr, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  on_done = on_done or function() end
  local client = M.client(bufnr)
  if not client then
    notify('no recode-lsp attached to this buffer (see :Recode info)', vim.log.levels.WARN)
    return on_done(false)
  end
  local last = vim.api.nvim_buf_line_count(bufnr) - 1
  local last_line = vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ''
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = {
      start = { line = 0, character = 0 },
      ['end'] = { line = last, character = vim.str_utfindex(last_line, client.offset_encoding) },
    },
    context = { only = { M.FIX_ALL }, diagnostics = {}, triggerKind = 1 },
  }

  local function apply(action)
    if action.edit then
      vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
    end
    if action.command then
      client:exec_cmd(action.command, { bufnr = bufnr })
    end
    on_done(action.edit ~= nil or action.command ~= nil)
  end

  client:request('textDocument/codeAction', params, function(req_err, actions)
    if req_err then
      notify('fix all failed: ' .. req_err.message, vim.log.levels.ERROR)
      return on_done(false)
    end
    local action = vim.iter(actions or {}):find(function(a)
      return a.kind == M.FIX_ALL
    end)
    if not action then
      notify('nothing to fix')
      return on_done(false)
    end
    -- The server fills the edit lazily, in codeAction/resolve, when the client can resolve.
    if action.edit or not client:supports_method('codeAction/resolve', bufnr) then
      return apply(action)
    end
    client:request('codeAction/resolve', action, function(resolve_err, resolved)
      if resolve_err then
        notify('fix all failed: ' .. resolve_err.message, vim.log.levels.ERROR)
        return on_done(false)
      end
      apply(resolved)
    end, bufnr)
  end, bufnr)
end

--- Stops the recode clients and starts them again, re-reading `vim.g.recode`.
function M.restart()
  if not vim.lsp.is_enabled(M.NAME) then
    notify("not enabled: add vim.lsp.enable('recode') to your config", vim.log.levels.WARN)
    return
  end
  -- Disabling stops the clients and forgets the resolved config; enabling re-resolves it and
  -- re-runs FileType on every buffer, which starts new clients where they apply.
  vim.lsp.enable(M.NAME, false)
  local stopped = vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = M.NAME }) == 0
  end, 50)
  if not stopped then
    for _, client in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
      client:stop(true)
    end
  end
  vim.lsp.enable(M.NAME, true)
  notify('restarted')
end

--- Lines describing the configuration and the running clients.
--- @return string[]
function M.info_lines()
  local lines = {}
  local opts, err = M.options()
  table.insert(lines, ('enabled: %s'):format(vim.lsp.is_enabled(M.NAME) and 'yes' or "no (vim.lsp.enable('recode'))"))
  if err then
    table.insert(lines, 'vim.g.recode: INVALID: ' .. err)
  else
    table.insert(lines, 'cmd: ' .. table.concat(M.cmd(opts), ' '))
    table.insert(lines, 'settings: ' .. vim.json.encode(M.settings(opts)))
  end
  vim.list_extend(lines, M.state_lines())
  local clients = vim.lsp.get_clients({ name = M.NAME })
  if #clients == 0 then
    table.insert(lines, 'clients: none running')
  end
  for _, client in ipairs(clients) do
    local server = client.server_info or {}
    table.insert(
      lines,
      ('client %d: %s %s, root %s, buffers %s, position encoding %s'):format(
        client.id,
        server.name or '?',
        server.version or '?',
        client.root_dir or '(none)',
        table.concat(vim.tbl_keys(client.attached_buffers), ','),
        client.offset_encoding
      )
    )
  end
  table.insert(lines, 'log: ' .. vim.lsp.log.get_filename())
  return lines
end

function M.info()
  notify(table.concat(M.info_lines(), '\n'))
end

return M
