-- `:checkhealth recode`: is the server there, which interpreter and targets apply, and can
-- the model endpoint be reached.

local recode = require('recode')
local health = vim.health

local M = {}

-- The project of the current buffer (else the working directory): where `[tool.recode]` is.
-- :checkhealth shows its report in a new buffer, so the file is the alternate buffer then.
local function project_root()
  for _, bufnr in ipairs({ vim.api.nvim_get_current_buf(), vim.fn.bufnr('#') }) do
    if bufnr > 0 and vim.bo[bufnr].buftype == '' and vim.api.nvim_buf_get_name(bufnr) ~= '' then
      local root = vim.fs.root(bufnr, recode.ROOT_MARKERS)
      if root then
        return vim.fs.abspath(root)
      end
    end
  end
  return vim.fs.root(vim.fn.getcwd(), recode.ROOT_MARKERS) or vim.fn.getcwd()
end

--- The `targets` and `python` of `[tool.recode]` in root/pyproject.toml: a line-based reading,
--- enough to report them (the server reads the file with a real TOML parser).
--- @return {targets: string[]?, python: string?, path: string}?
local function read_tool_recode(root)
  local path = vim.fs.joinpath(root, 'pyproject.toml')
  local ok, lines = pcall(vim.fn.readfile, path)
  if not ok or vim.fn.filereadable(path) == 0 then
    return nil
  end
  local found, in_section, collecting = { path = path }, false, nil
  for _, line in ipairs(lines) do
    line = line:gsub('%s+#.*$', '')
    if collecting then
      collecting = collecting .. ' ' .. line
      if line:find(']', 1, true) then
        found.targets = vim.iter(collecting:gmatch('["\']([^"\']+)["\']')):totable()
        collecting = nil
      end
    elseif line:match('^%s*%[') then
      in_section = line:match('^%s*%[tool%.recode%]%s*$') ~= nil
    elseif in_section then
      local value = line:match('^%s*targets%s*=%s*(.*)$')
      if value then
        if value:find(']', 1, true) or not value:find('[', 1, true) then
          found.targets = vim.iter(value:gmatch('["\']([^"\']+)["\']')):totable()
        else
          collecting = value
        end
      end
      found.python = found.python or line:match('^%s*python%s*=%s*["\'](.-)["\']')
    end
  end
  return found
end

local function check_server(cmd)
  if type(cmd) ~= 'table' then
    health.info('cmd is a function (set with vim.lsp.config): not checked')
    return
  end
  local program = vim.fn.exepath(cmd[1])
  if program == '' then
    health.error(
      ('server not found: %q is not an executable'):format(cmd[1]),
      { 'install it: pip install recode-migrate (puts recode-lsp on PATH)', 'or set vim.g.recode.cmd' }
    )
    return
  end
  local args = vim.list_extend(vim.deepcopy(cmd), { '--version' })
  args[1] = program
  local ok, result = pcall(function()
    return vim.system(args, { text = true }):wait(20000)
  end)
  if not ok then
    health.error(('server %s could not run: %s'):format(program, result))
    return
  end
  local version = vim.trim(result.stdout or '')
  if result.code == 0 and version:match('^recode%-lsp ') then
    health.ok(('server found: %s (%s)'):format(table.concat(args, ' ', 1, #args - 1), version))
  else
    health.error(
      ('server %s --version failed (exit %s): %s'):format(
        table.concat(args, ' ', 1, #args - 1),
        result.code,
        vim.trim((result.stderr or '') .. ' ' .. version)
      ),
      { 'is recode-migrate installed in the interpreter that runs the server?' }
    )
  end
end

local function check_clients()
  local clients = vim.lsp.get_clients({ name = recode.NAME })
  if #clients == 0 then
    health.info('no recode client running (it starts when a Python buffer opens)')
  end
  for _, client in ipairs(clients) do
    local server = client.server_info or {}
    health.ok(
      ('client %d running: %s %s, root %s'):format(
        client.id,
        server.name or '?',
        server.version or '?',
        client.root_dir or '(single file)'
      )
    )
    -- What the server resolved (recode/status): the targets it checks against, and its problems.
    local roots = vim.tbl_keys(recode.projects[client.id] or {})
    table.sort(roots)
    for _, root in ipairs(roots) do
      local status = recode.projects[client.id][root]
      local problems = status.problems or {}
      if #problems == 0 then
        health.ok(('targets in use for %s: %s'):format(root, status.summary or '?'))
      else
        health.warn(('targets in use for %s: %s'):format(root, status.summary or '?'), problems)
      end
    end
  end
end

local function check_interpreter(opts, project, root)
  local interpreter, origin = opts.interpreter, 'vim.g.recode.interpreter'
  if not interpreter and project and project.python then
    interpreter, origin = project.python, '[tool.recode] python'
  end
  if not interpreter then
    health.info("interpreter: none set; installed versions are read from the server's own Python")
    return
  end
  local path = vim.fn.expand(interpreter)
  if not vim.startswith(path, '/') and vim.fn.exepath(path) == '' then
    path = vim.fs.joinpath(root, path)
  end
  if vim.fn.executable(path) == 1 then
    health.ok(('interpreter (%s): %s'):format(origin, vim.fn.exepath(path)))
  else
    health.error(('interpreter (%s): %s is not an executable'):format(origin, path))
  end
end

local function check_targets(opts, project)
  local any = false
  if opts.targets and #opts.targets > 0 then
    health.ok('targets (vim.g.recode): ' .. table.concat(opts.targets, ', '))
    any = true
  end
  if project and project.targets and #project.targets > 0 then
    health.ok(('targets ([tool.recode] in %s): %s'):format(project.path, table.concat(project.targets, ', ')))
    any = true
  end
  if not any then
    health.warn('no targets in vim.g.recode or [tool.recode]', {
      "the server falls back to the project's pinned requirements, else the installed versions",
      'set vim.g.recode.targets = { "numpy==2.0" } or [tool.recode] targets in pyproject.toml',
    })
  end
end

--- host and port of an http(s) URL
local function host_port(url)
  local scheme, rest = url:match('^(https?)://([^/]+)')
  if not scheme then
    return nil
  end
  local host, port = rest:match('^%[(.+)%]:?(%d*)$') -- [::1]:8000
  if not host then
    host, port = rest:match('^([^:]+):?(%d*)$')
  end
  if port == nil or port == '' then
    port = scheme == 'https' and 443 or 80
  end
  return host, tonumber(port)
end

--- Whether a TCP connection to host:port opens within timeout_ms.
--- @return boolean ok
--- @return string? why not
local function tcp_reachable(host, port, timeout_ms)
  local addrs, err = vim.uv.getaddrinfo(host, tostring(port), { socktype = 'stream' })
  if not addrs or #addrs == 0 then
    return false, 'cannot resolve ' .. host .. (err and (': ' .. err) or '')
  end
  local tcp = assert(vim.uv.new_tcp())
  local done, result = false, nil
  tcp:connect(addrs[1].addr, port, function(connect_err)
    done, result = true, connect_err
  end)
  local finished = vim.wait(timeout_ms, function()
    return done
  end, 20)
  if not tcp:is_closing() then
    tcp:close()
  end
  if not finished then
    return false, ('no answer within %d ms'):format(timeout_ms)
  end
  if result then
    return false, result
  end
  return true
end

local function check_model(opts)
  local model = opts.model or {}
  if not model.endpoint then
    health.info('model endpoint: none set (model-backed fixes are off; rule-based fixes work)')
    return
  end
  local host, port = host_port(model.endpoint)
  local ok, why = tcp_reachable(host, port, 3000)
  local name = model.name and (' (model ' .. model.name .. ')') or ''
  if ok then
    health.ok(('model endpoint reachable: %s%s'):format(model.endpoint, name))
  else
    health.warn(('model endpoint not reachable: %s%s: %s'):format(model.endpoint, name, why), {
      'start the model server (see serving/ in the ReCode repository)',
      'or remove vim.g.recode.model to turn model-backed fixes off',
    })
  end
end

function M.check()
  health.start('recode: configuration')
  if vim.fn.has('nvim-0.11') == 1 then
    local v = vim.version()
    health.ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    health.error('Neovim 0.11 or newer is needed (vim.lsp.enable)')
  end
  if vim.lsp.is_enabled(recode.NAME) then
    health.ok("vim.lsp.enable('recode') was called")
  else
    health.warn('recode is not enabled', { "add vim.lsp.enable('recode') to your config" })
  end
  local opts, err = recode.options()
  if err then
    health.error('invalid vim.g.recode: ' .. err, { 'see :help g:recode', 'then :Recode restart' })
    return
  end
  health.ok('vim.g.recode is valid')

  health.start('recode: server')
  -- The resolved config: vim.lsp.config('recode', ...) overrides count.
  local config = vim.lsp.config[recode.NAME] or {}
  -- A config that cannot start (see recode.config) carries a placeholder cmd: check the real one.
  check_server(config._recode_error and recode.cmd(opts) or config.cmd)
  check_clients()

  health.start('recode: project')
  local root = project_root()
  local project = read_tool_recode(root)
  health.info('project root: ' .. root)
  check_interpreter(opts, project, root)
  check_targets(opts, project)

  health.start('recode: model')
  check_model(opts)
end

return M
