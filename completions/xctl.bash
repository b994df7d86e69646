# bash completion for xctl: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: source this file from ~/.bashrc, or copy it to /usr/share/bash-completion/completions/xctl.

# __xctl_spec sets the subcommands, flags and value-taking flags of one command path.
__xctl_spec() {
  case "$1" in
    'xctl')
      __xctl_subs='audit auth backend create db get install rm start status tokens users'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl audit')
      __xctl_subs='ls'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl audit ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --follow --format --help --identity --insecure --limit --proxy --since --type --user --version -V -c -d -f -h -i'
      __xctl_req='--config --data-dir --format --identity --limit --proxy --since --type --user -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth')
      __xctl_subs='export sign'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth export')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --type --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy --type -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth sign')
      __xctl_subs=''
      __xctl_flags='--cluster --cluster-ca --config --data-dir --debug --format --help --host --identity --insecure --out --overwrite --proxy --ttl --user --version -V -c -d -h -i -o'
      __xctl_req='--cluster-ca --config --data-dir --format --host --identity --out --proxy --ttl --user -c -i -o'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend')
      __xctl_subs='check migrate'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend check')
      __xctl_subs=''
      __xctl_flags='--ca-file --cert-file --config --data-dir --debug --format --help --identity --insecure --key-file --proxy --storage --version -V -c -d -h -i'
      __xctl_req='--ca-file --cert-file --config --data-dir --format --identity --key-file --proxy --storage -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend migrate')
      __xctl_subs=''
      __xctl_flags='--ca-file --cert-file --config --data-dir --debug --format --from --help --identity --insecure --key-file --overwrite --proxy --to --version -V -c -d -h -i'
      __xctl_req='--ca-file --cert-file --config --data-dir --format --from --identity --key-file --proxy --to -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl create')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --file --force --help --identity --insecure --proxy --version -V -c -d -f -h -i'
      __xctl_req='--config --data-dir --file --identity --proxy -c -f -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db')
      __xctl_subs='configure ls secret users'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure')
      __xctl_subs='bootstrap create'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure bootstrap')
      __xctl_subs=''
      __xctl_flags='--assignee --attach-to-role --attach-to-user --azure --azure-cloud --config --confirm --data-dir --debug --help --identity --insecure --manual --policy-name --proxy --role-name --version -V -c -d -h -i'
      __xctl_req='--assignee --attach-to-role --attach-to-user --azure-cloud --config --data-dir --identity --policy-name --proxy --role-name -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure create')
      __xctl_subs=''
      __xctl_flags='--aws-assume-role-arn --aws-elasticache-group-id --aws-external-id --aws-memorydb-cluster-name --aws-region --aws-tags --azure-redis-discovery --azure-resource-group --azure-subscription --ca-cert-file --ca-pin --config --data-dir --debug --elasticache-discovery --help --identity --insecure --labels --memorydb-discovery --name --output --protocol --proxy --token --uri --version -V -c -d -h -i -o'
      __xctl_req='--aws-assume-role-arn --aws-elasticache-group-id --aws-external-id --aws-memorydb-cluster-name --aws-region --aws-tags --azure-redis-discovery --azure-resource-group --azure-subscription --ca-cert-file --ca-pin --config --data-dir --elasticache-discovery --identity --labels --memorydb-discovery --name --output --protocol --proxy --token --uri -c -i -o'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret')
      __xctl_subs='del ls rm set'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret rm')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db secret set')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --db --debug --help --identity --insecure --password-stdin --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --db --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db users')
      __xctl_subs='ls sync'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db users ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db users sync')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl get')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl install')
      __xctl_subs='systemd'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl install systemd')
      __xctl_subs=''
      __xctl_flags='--binary --config --config-path --data-dir --debug --help --identity --insecure --output --proxy --version -V -c -d -h -i -o'
      __xctl_req='--binary --config --config-path --data-dir --identity --output --proxy -c -i -o'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl rm')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl start')
      __xctl_subs=''
      __xctl_flags='--cluster-name --config --data-dir --debug --help --identity --insecure --listen-addr --proxy --version -V -c -d -h -i'
      __xctl_req='--cluster-name --config --data-dir --identity --listen-addr --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl status')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens')
      __xctl_subs='add del ls rm'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens add')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --labels --proxy --ttl --type --uses --value --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --labels --proxy --ttl --type --uses --value -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens rm')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users')
      __xctl_subs='add del ls reset rm update'
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl users add')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --db-names --db-users --debug --format --help --identity --insecure --proxy --roles --ttl --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --db-names --db-users --format --identity --proxy --roles --ttl -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users ls')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --format --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --format --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl users reset')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --ttl --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy --ttl -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users rm')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users update')
      __xctl_subs=''
      __xctl_flags='--config --data-dir --debug --help --identity --insecure --proxy --set-db-names --set-db-users --set-roles --version -V -c -d -h -i'
      __xctl_req='--config --data-dir --identity --proxy --set-db-names --set-db-users --set-roles -c -i'
      __xctl_opt=''
      __xctl_args=1
      __xctl_last=0
      ;;
    *) __xctl_subs='' __xctl_flags='' __xctl_req='' __xctl_opt='' __xctl_args=0 __xctl_last=0 ;;
  esac
}

# __xctl_step sets __xctl_next to the path a word selects after a path, or fails.
__xctl_step() {
  case "$1|$2" in
    'xctl|audit') __xctl_next='xctl audit' ;;
    'xctl|auth') __xctl_next='xctl auth' ;;
    'xctl|backend') __xctl_next='xctl backend' ;;
    'xctl|create') __xctl_next='xctl create' ;;
    'xctl|db') __xctl_next='xctl db' ;;
    'xctl|get') __xctl_next='xctl get' ;;
    'xctl|install') __xctl_next='xctl install' ;;
    'xctl|rm') __xctl_next='xctl rm' ;;
    'xctl|start') __xctl_next='xctl start' ;;
    'xctl|status') __xctl_next='xctl status' ;;
    'xctl|tokens') __xctl_next='xctl tokens' ;;
    'xctl|users') __xctl_next='xctl users' ;;
    'xctl audit|ls') __xctl_next='xctl audit ls' ;;
    'xctl auth|export') __xctl_next='xctl auth export' ;;
    'xctl auth|sign') __xctl_next='xctl auth sign' ;;
    'xctl backend|check') __xctl_next='xctl backend check' ;;
    'xctl backend|migrate') __xctl_next='xctl backend migrate' ;;
    'xctl db|configure') __xctl_next='xctl db configure' ;;
    'xctl db|ls') __xctl_next='xctl db ls' ;;
    'xctl db|secret') __xctl_next='xctl db secret' ;;
    'xctl db|users') __xctl_next='xctl db users' ;;
    'xctl db configure|bootstrap') __xctl_next='xctl db configure bootstrap' ;;
    'xctl db configure|create') __xctl_next='xctl db configure create' ;;
    'xctl db secret|ls') __xctl_next='xctl db secret ls' ;;
    'xctl db secret|rm'|'xctl db secret|del') __xctl_next='xctl db secret rm' ;;
    'xctl db secret|set') __xctl_next='xctl db secret set' ;;
    'xctl db users|ls') __xctl_next='xctl db users ls' ;;
    'xctl db users|sync') __xctl_next='xctl db users sync' ;;
    'xctl install|systemd') __xctl_next='xctl install systemd' ;;
    'xctl tokens|add') __xctl_next='xctl tokens add' ;;
    'xctl tokens|ls') __xctl_next='xctl tokens ls' ;;
    'xctl tokens|rm'|'xctl tokens|del') __xctl_next='xctl tokens rm' ;;
    'xctl users|add') __xctl_next='xctl users add' ;;
    'xctl users|ls') __xctl_next='xctl users ls' ;;
    'xctl users|reset') __xctl_next='xctl users reset' ;;
    'xctl users|rm'|'xctl users|del') __xctl_next='xctl users rm' ;;
    'xctl users|update') __xctl_next='xctl users update' ;;
    *) return 1 ;;
  esac
}

# __xctl_values sets __xctl_vals to the fixed values of a flag ("path|--flag") or operand ("path|#N").
__xctl_values() {
  case "$1|$2" in
    'xctl audit ls|--format') __xctl_vals='json text yaml' ;;
    'xctl auth export|--type') __xctl_vals='db db-client host tls tls-host tls-user user' ;;
    'xctl auth sign|--format') __xctl_vals='file redis' ;;
    'xctl backend check|--format') __xctl_vals='json text yaml' ;;
    'xctl backend migrate|--format') __xctl_vals='json text yaml' ;;
    'xctl db ls|--format') __xctl_vals='json text yaml' ;;
    'xctl db secret ls|--format') __xctl_vals='json text yaml' ;;
    'xctl db users ls|--format') __xctl_vals='json text yaml' ;;
    'xctl get|--format') __xctl_vals='json text yaml' ;;
    'xctl status|--format') __xctl_vals='json text yaml' ;;
    'xctl tokens add|--format') __xctl_vals='json text yaml' ;;
    'xctl tokens add|--type') __xctl_vals='db' ;;
    'xctl tokens ls|--format') __xctl_vals='json text yaml' ;;
    'xctl users add|--format') __xctl_vals='json text yaml' ;;
    'xctl users ls|--format') __xctl_vals='json text yaml' ;;
    *) return 1 ;;
  esac
}

# _xctl_completions walks COMP_WORDS down the command tree, then completes the current word.
_xctl_completions() {
  local cur prev word p='xctl' i=1 nargs=0 n end=0
  local __xctl_subs __xctl_flags __xctl_req __xctl_opt __xctl_args __xctl_last __xctl_next __xctl_vals
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
    __xctl_spec "$p"
    if [ "$end" = 1 ]; then
      nargs=$((nargs + 1))
    else
      case "$word" in
        --) end=1 ;;
        -*=*) ;;
        -*)
          if [[ " $__xctl_req $__xctl_opt " == *" $word "* ]]; then
            if [ "${COMP_WORDS[i+1]}" = "=" ]; then
              i=$((i + 2))
            elif [[ " $__xctl_req " == *" $word "* ]] || [[ "${COMP_WORDS[i+1]}" != -* ]]; then
              i=$((i + 1))
            fi
          fi
          ;;
        *)
          if __xctl_step "$p" "$word"; then
            p="$__xctl_next"
            nargs=0
          else
            nargs=$((nargs + 1))
          fi
          ;;
      esac
    fi
    i=$((i + 1))
  done
  __xctl_spec "$p"
  if [ "$end" = 0 ] && [[ " $__xctl_req $__xctl_opt " == *" $prev "* ]]; then
    if __xctl_values "$p" "$prev"; then
      COMPREPLY=($(compgen -W "$__xctl_vals" -- "$cur"))
      return 0
    fi
    # a free-form value: leave COMPREPLY empty so "-o default" offers file names
    [[ " $__xctl_req " == *" $prev "* ]] && return 0
  fi
  if [ "$end" = 0 ] && [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$__xctl_flags" -- "$cur"))
  elif [ "$end" = 0 ] && [ -n "$__xctl_subs" ]; then
    COMPREPLY=($(compgen -W "$__xctl_subs" -- "$cur"))
  else
    n=$((nargs + 1))
    if [ "$__xctl_last" -gt 0 ] && [ "$n" -gt "$__xctl_last" ]; then n="$__xctl_last"; fi
    if __xctl_values "$p" "#$n"; then
      COMPREPLY=($(compgen -W "$__xctl_vals" -- "$cur"))
    elif [ "$__xctl_last" = 0 ] && [ "$nargs" -ge "$__xctl_args" ]; then
      # every operand is there: no file names either (compopt needs bash 4)
      compopt +o default 2>/dev/null
    fi
  fi
  return 0
}

complete -o default -F _xctl_completions xctl
