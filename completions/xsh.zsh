#compdef xsh
# zsh completion for xsh: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: copy this file as _xsh into a directory on $fpath, or source it after compinit.

# __xsh_spec fills the subcommands and flags (name:description) and the value-taking flags of one path.
__xsh_spec() {
  __xsh_subs=() __xsh_flags=() __xsh_req=() __xsh_opt=() __xsh_args=0 __xsh_last=0
  case "$1" in
    'xsh')
      __xsh_subs=('db:list Redis databases, log in to them and connect with redis-cli' 'login:log in to an xport cluster and save a short-lived certificate' 'logout:remove the saved certificates and keys of every profile (or the one named by --proxy); the cluster CA stays known' 'proxy:local proxies for database clients other than the ones xsh starts' 'status:show the current login: user, cluster, roles and certificate validity')
      __xsh_flags=('--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh db')
      __xsh_subs=('config:show the files of a database login, or (--format=cmd) the commands that reach the database' 'connect:connect redis-cli to a database through a local tunnel (logging in first when needed); exits with redis-cli'\''s status' 'env:print REDIS_URL, REDIS_HOST and REDIS_PORT of a running `xsh proxy db --tunnel` (export lines, or --format=dotenv)' 'login:get a certificate routed to one database and save it in the profile' 'logout:remove the saved certificate of one database, or of all databases' 'ls:list the databases your roles allow; ">" marks the ones you are logged into')
      __xsh_flags=('--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh db config')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "cmd", "json", "yaml", default: "text")' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--port:with --format=cmd: the local tunnel port to show (default: the placeholder PORT)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-f:output format (choices: "text", "cmd", "json", "yaml", default: "text")' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '-p:with --format=cmd: the local tunnel port to show (default: the placeholder PORT)')
      __xsh_req=('--format' '--identity' '--port' '--proxy' '--user' '-f' '-i' '-p')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db connect')
      __xsh_subs=()
      __xsh_flags=('--db-name:database name: the Redis DB number to select' '--db-user:database user to log in as (default: chosen by the server from your roles)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--resp3:start redis-cli in RESP3 mode (redis-cli -3)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '-n:database name: the Redis DB number to select' '-u:database user to log in as (default: chosen by the server from your roles)')
      __xsh_req=('--db-name' '--db-user' '--identity' '--proxy' '--user' '-i' '-n' '-u')
      __xsh_opt=()
      __xsh_args=2
      __xsh_last=2
      ;;
    'xsh db env')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--format:output format (choices: "shell", "dotenv", default: "shell")' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--format' '--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db login')
      __xsh_subs=()
      __xsh_flags=('--db-name:database name: the Redis DB number to select' '--db-user:database user to log in as (default: chosen by the server from your roles)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '-n:database name: the Redis DB number to select' '-u:database user to log in as (default: chosen by the server from your roles)')
      __xsh_req=('--db-name' '--db-user' '--identity' '--proxy' '--user' '-i' '-n' '-u')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db logout')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db ls')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--query:only databases matching a predicate: name == "x", labels["env"] == "dev", joined by &&' '--search:only databases whose name, description or labels contain every comma-separated keyword' '--user:xport user name (env XSH_USER)' '--verbose:also show each database'\''s protocol, type and URI' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-f:output format (choices: "text", "json", "yaml", default: "text")' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '-v:also show each database'\''s protocol, type and URI')
      __xsh_req=('--format' '--identity' '--proxy' '--query' '--search' '--user' '-f' '-i')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh login')
      __xsh_subs=()
      __xsh_flags=('--ca-pin:trust the proxy when its CA matches this pin (from `xctl status`)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--invite:complete an invite (or password reset) token from `xctl users add`' '--key-storage:where to keep the private key (choices: "auto", "keychain", "file", default: "auto")' '--otp:one-time code from your authenticator app' '--password-stdin:read the password (and then a one-time code, when needed) from standard input' '--proxy:xport proxy address (env XSH_PROXY)' '--ttl:certificate lifetime in minutes or as a duration (12h), capped by your roles' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--ca-pin' '--identity' '--invite' '--key-storage' '--otp' '--proxy' '--ttl' '--user' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh logout')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--forget-ca:also forget the cluster CA, so the next login needs --ca-pin again' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh proxy')
      __xsh_subs=('db:start an authenticated local tunnel to a database for any Redis client; runs until interrupted')
      __xsh_flags=('--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--identity' '--proxy' '--user' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh proxy db')
      __xsh_subs=()
      __xsh_flags=('--db-name:database name: the Redis DB number to select' '--db-user:database user to log in as (default: chosen by the server from your roles)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--port:local port to listen on (default: a random free port)' '--proxy:xport proxy address (env XSH_PROXY)' '--tunnel:authenticated tunnel: it does the TLS with the proxy, so clients connect without certificates (required for Redis)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '-n:database name: the Redis DB number to select' '-p:local port to listen on (default: a random free port)' '-u:database user to log in as (default: chosen by the server from your roles)')
      __xsh_req=('--db-name' '--db-user' '--identity' '--port' '--proxy' '--user' '-i' '-n' '-p' '-u')
      __xsh_opt=()
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh status')
      __xsh_subs=()
      __xsh_flags=('--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:xport proxy address (env XSH_PROXY)' '--user:xport user name (env XSH_USER)' '--version:print the xsh version' '-V:print the xsh version' '-d:print stack traces and causes of errors' '-f:output format (choices: "text", "json", "yaml", default: "text")' '-h:display help for command' '-i:identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)')
      __xsh_req=('--format' '--identity' '--proxy' '--user' '-f' '-i')
      __xsh_opt=()
      __xsh_args=0
      __xsh_last=0
      ;;
  esac
}

# __xsh_step sets __xsh_next to the path a word selects after a path, or fails.
__xsh_step() {
  case "$1|$2" in
    'xsh|db') __xsh_next='xsh db' ;;
    'xsh|login') __xsh_next='xsh login' ;;
    'xsh|logout') __xsh_next='xsh logout' ;;
    'xsh|proxy') __xsh_next='xsh proxy' ;;
    'xsh|status') __xsh_next='xsh status' ;;
    'xsh db|config') __xsh_next='xsh db config' ;;
    'xsh db|connect') __xsh_next='xsh db connect' ;;
    'xsh db|env') __xsh_next='xsh db env' ;;
    'xsh db|login') __xsh_next='xsh db login' ;;
    'xsh db|logout') __xsh_next='xsh db logout' ;;
    'xsh db|ls') __xsh_next='xsh db ls' ;;
    'xsh proxy|db') __xsh_next='xsh proxy db' ;;
    *) return 1 ;;
  esac
}

# __xsh_values sets __xsh_vals to the fixed values of a flag ("path|--flag") or operand ("path|#N").
__xsh_values() {
  case "$1|$2" in
    'xsh db config|-f'|'xsh db config|--format') __xsh_vals=('cmd' 'json' 'text' 'yaml') ;;
    'xsh db env|--format') __xsh_vals=('dotenv' 'shell') ;;
    'xsh db ls|-f'|'xsh db ls|--format') __xsh_vals=('json' 'text' 'yaml') ;;
    'xsh login|--key-storage') __xsh_vals=('auto' 'file' 'keychain') ;;
    'xsh status|-f'|'xsh status|--format') __xsh_vals=('json' 'text' 'yaml') ;;
    *) return 1 ;;
  esac
}

# _xsh walks $words down the command tree, then completes the current word.
_xsh() {
  local p='xsh' word cur prev flag __xsh_next __xsh_args __xsh_last
  local -a __xsh_subs __xsh_flags __xsh_req __xsh_opt __xsh_vals
  integer i=2 nargs=0 n end=0
  while (( i < CURRENT )); do
    word=${words[i]}
    __xsh_spec "$p"
    if (( end )); then
      nargs=$((nargs + 1))
    else
      case $word in
        --) end=1 ;;
        -*=*) ;;
        -*)
          if (( ${__xsh_req[(Ie)$word]} )); then
            i=$((i + 1))
          elif (( ${__xsh_opt[(Ie)$word]} )) && [[ ${words[i+1]} != -* ]]; then
            i=$((i + 1))
          fi
          ;;
        *)
          if __xsh_step "$p" "$word"; then
            p=$__xsh_next
            nargs=0
          else
            nargs=$((nargs + 1))
          fi
          ;;
      esac
    fi
    i=$((i + 1))
  done
  __xsh_spec "$p"
  cur=${words[CURRENT]}
  prev=${words[CURRENT-1]}
  if (( ! end )) && [[ $cur == -*=* ]]; then
    flag=${cur%%=*}
    compset -P '*='
    if __xsh_values "$p" "$flag"; then compadd -a __xsh_vals; else _files; fi
    return
  fi
  if (( ! end && ${__xsh_req[(Ie)$prev]} + ${__xsh_opt[(Ie)$prev]} )); then
    if __xsh_values "$p" "$prev"; then compadd -a __xsh_vals; return; fi
    if (( ${__xsh_req[(Ie)$prev]} )); then _files; return; fi
  fi
  if (( ! end )) && [[ $cur == -* ]]; then
    _describe -t options 'option' __xsh_flags
  elif (( ! end && ${#__xsh_subs} )); then
    _describe -t commands 'command' __xsh_subs
  else
    n=$((nargs + 1))
    if (( __xsh_last > 0 && n > __xsh_last )); then n=$__xsh_last; fi
    if __xsh_values "$p" "#$n"; then
      compadd -a __xsh_vals
    elif (( __xsh_last > 0 || nargs < __xsh_args )); then
      _files
    fi
  fi
}

if [[ $funcstack[1] == _xsh ]]; then
  _xsh "$@"
else
  compdef _xsh xsh
fi
