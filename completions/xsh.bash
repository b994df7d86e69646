# bash completion for xsh: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: source this file from ~/.bashrc, or copy it to /usr/share/bash-completion/completions/xsh.

# __xsh_spec sets the subcommands, flags and value-taking flags of one command path.
__xsh_spec() {
  case "$1" in
    'xsh')
      __xsh_subs='db login logout proxy status'
      __xsh_flags='--debug --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh db')
      __xsh_subs='config connect env login logout ls'
      __xsh_flags='--debug --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh db config')
      __xsh_subs=''
      __xsh_flags='--debug --format --help --identity --insecure --port --proxy --user --version -V -d -f -h -i -p'
      __xsh_req='--format --identity --port --proxy --user -f -i -p'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db connect')
      __xsh_subs=''
      __xsh_flags='--db-name --db-user --debug --help --identity --insecure --proxy --resp3 --user --version -V -d -h -i -n -u'
      __xsh_req='--db-name --db-user --identity --proxy --user -i -n -u'
      __xsh_opt=''
      __xsh_args=2
      __xsh_last=2
      ;;
    'xsh db env')
      __xsh_subs=''
      __xsh_flags='--debug --format --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--format --identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db login')
      __xsh_subs=''
      __xsh_flags='--db-name --db-user --debug --help --identity --insecure --proxy --user --version -V -d -h -i -n -u'
      __xsh_req='--db-name --db-user --identity --proxy --user -i -n -u'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db logout')
      __xsh_subs=''
      __xsh_flags='--debug --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh db ls')
      __xsh_subs=''
      __xsh_flags='--debug --format --help --identity --insecure --proxy --query --search --user --verbose --version -V -d -f -h -i -v'
      __xsh_req='--format --identity --proxy --query --search --user -f -i'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh login')
      __xsh_subs=''
      __xsh_flags='--ca-pin --debug --help --identity --insecure --invite --key-storage --otp --password-stdin --proxy --ttl --user --version -V -d -h -i'
      __xsh_req='--ca-pin --identity --invite --key-storage --otp --proxy --ttl --user -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh logout')
      __xsh_subs=''
      __xsh_flags='--debug --forget-ca --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh proxy')
      __xsh_subs='db'
      __xsh_flags='--debug --help --identity --insecure --proxy --user --version -V -d -h -i'
      __xsh_req='--identity --proxy --user -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    'xsh proxy db')
      __xsh_subs=''
      __xsh_flags='--db-name --db-user --debug --help --identity --insecure --port --proxy --tunnel --user --version -V -d -h -i -n -p -u'
      __xsh_req='--db-name --db-user --identity --port --proxy --user -i -n -p -u'
      __xsh_opt=''
      __xsh_args=1
      __xsh_last=0
      ;;
    'xsh status')
      __xsh_subs=''
      __xsh_flags='--debug --format --help --identity --insecure --proxy --user --version -V -d -f -h -i'
      __xsh_req='--format --identity --proxy --user -f -i'
      __xsh_opt=''
      __xsh_args=0
      __xsh_last=0
      ;;
    *) __xsh_subs='' __xsh_flags='' __xsh_req='' __xsh_opt='' __xsh_args=0 __xsh_last=0 ;;
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
    'xsh db config|-f'|'xsh db config|--format') __xsh_vals='cmd json text yaml' ;;
    'xsh db env|--format') __xsh_vals='dotenv shell' ;;
    'xsh db ls|-f'|'xsh db ls|--format') __xsh_vals='json text yaml' ;;
    'xsh login|--key-storage') __xsh_vals='auto file keychain' ;;
    'xsh status|-f'|'xsh status|--format') __xsh_vals='json text yaml' ;;
    *) return 1 ;;
  esac
}

# _xsh_completions walks COMP_WORDS down the command tree, then completes the current word.
_xsh_completions() {
  local cur prev word p='xsh' i=1 nargs=0 n end=0
  local __xsh_subs __xsh_flags __xsh_req __xsh_opt __xsh_args __xsh_last __xsh_next __xsh_vals
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  # COMP_WORDBREAKS splits "--format=js" into "--format" "=" "js".
  if [ "$cur" = "=" ]; then
    cur=""
  elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
    prev="${COMP_WORDS[COMP_CWORD-2]}"
  fi
  while [ "$i" -lt "$COMP_CWORD" ]; do
    word="${COMP_WORDS[i]}"
    __xsh_spec "$p"
    if [ "$end" = 1 ]; then
      nargs=$((nargs + 1))
    else
      case "$word" in
        --) end=1 ;;
        -*=*) ;;
        -*)
          if [[ " $__xsh_req $__xsh_opt " == *" $word "* ]]; then
            if [ "${COMP_WORDS[i+1]}" = "=" ]; then
              i=$((i + 2))
            elif [[ " $__xsh_req " == *" $word "* ]] || [[ "${COMP_WORDS[i+1]}" != -* ]]; then
              i=$((i + 1))
            fi
          fi
          ;;
        *)
          if __xsh_step "$p" "$word"; then
            p="$__xsh_next"
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
  if [ "$end" = 0 ] && [[ " $__xsh_req $__xsh_opt " == *" $prev "* ]]; then
    if __xsh_values "$p" "$prev"; then
      COMPREPLY=($(compgen -W "$__xsh_vals" -- "$cur"))
      return 0
    fi
    # a free-form value: leave COMPREPLY empty so "-o default" offers file names
    [[ " $__xsh_req " == *" $prev "* ]] && return 0
  fi
  if [ "$end" = 0 ] && [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$__xsh_flags" -- "$cur"))
  elif [ "$end" = 0 ] && [ -n "$__xsh_subs" ]; then
    COMPREPLY=($(compgen -W "$__xsh_subs" -- "$cur"))
  else
    n=$((nargs + 1))
    if [ "$__xsh_last" -gt 0 ] && [ "$n" -gt "$__xsh_last" ]; then n="$__xsh_last"; fi
    if __xsh_values "$p" "#$n"; then
      COMPREPLY=($(compgen -W "$__xsh_vals" -- "$cur"))
    elif [ "$__xsh_last" = 0 ] && [ "$nargs" -ge "$__xsh_args" ]; then
      # every operand is there: no file names either (compopt needs bash 4)
      compopt +o default 2>/dev/null
    fi
  fi
  return 0
}

complete -o default -F _xsh_completions xsh
