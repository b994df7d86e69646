# fish completion for xctl: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: copy this file to ~/.config/fish/completions/xctl.fish.

function __xctl_step --description 'Print the command path a word selects after a path'
    switch "$argv[1]|$argv[2]"
        case 'xctl|audit'
            echo 'xctl audit'
        case 'xctl|auth'
            echo 'xctl auth'
        case 'xctl|backend'
            echo 'xctl backend'
        case 'xctl|create'
            echo 'xctl create'
        case 'xctl|db'
            echo 'xctl db'
        case 'xctl|get'
            echo 'xctl get'
        case 'xctl|install'
            echo 'xctl install'
        case 'xctl|rm'
            echo 'xctl rm'
        case 'xctl|start'
            echo 'xctl start'
        case 'xctl|status'
            echo 'xctl status'
        case 'xctl|tokens'
            echo 'xctl tokens'
        case 'xctl|users'
            echo 'xctl users'
        case 'xctl audit|ls'
            echo 'xctl audit ls'
        case 'xctl auth|export'
            echo 'xctl auth export'
        case 'xctl auth|sign'
            echo 'xctl auth sign'
        case 'xctl backend|check'
            echo 'xctl backend check'
        case 'xctl backend|migrate'
            echo 'xctl backend migrate'
        case 'xctl db|configure'
            echo 'xctl db configure'
        case 'xctl db|ls'
            echo 'xctl db ls'
        case 'xctl db|secret'
            echo 'xctl db secret'
        case 'xctl db|users'
            echo 'xctl db users'
        case 'xctl db configure|bootstrap'
            echo 'xctl db configure bootstrap'
        case 'xctl db configure|create'
            echo 'xctl db configure create'
        case 'xctl db secret|ls'
            echo 'xctl db secret ls'
        case 'xctl db secret|rm' 'xctl db secret|del'
            echo 'xctl db secret rm'
        case 'xctl db secret|set'
            echo 'xctl db secret set'
        case 'xctl db users|ls'
            echo 'xctl db users ls'
        case 'xctl db users|sync'
            echo 'xctl db users sync'
        case 'xctl install|systemd'
            echo 'xctl install systemd'
        case 'xctl tokens|add'
            echo 'xctl tokens add'
        case 'xctl tokens|ls'
            echo 'xctl tokens ls'
        case 'xctl tokens|rm' 'xctl tokens|del'
            echo 'xctl tokens rm'
        case 'xctl users|add'
            echo 'xctl users add'
        case 'xctl users|ls'
            echo 'xctl users ls'
        case 'xctl users|reset'
            echo 'xctl users reset'
        case 'xctl users|rm' 'xctl users|del'
            echo 'xctl users rm'
        case 'xctl users|update'
            echo 'xctl users update'
        case '*'
            return 1
    end
end

function __xctl_takes_value --description 'Print required or optional when a flag of a path takes a value'
    switch "$argv[1]|$argv[2]"
        case 'xctl|--config' 'xctl|--data-dir' 'xctl|--identity' 'xctl|--proxy' 'xctl|-c' 'xctl|-i' 'xctl audit|--config' 'xctl audit|--data-dir' 'xctl audit|--identity' 'xctl audit|--proxy' 'xctl audit|-c' 'xctl audit|-i' 'xctl audit ls|--config' 'xctl audit ls|--data-dir' 'xctl audit ls|--format' 'xctl audit ls|--identity' 'xctl audit ls|--limit' 'xctl audit ls|--proxy' 'xctl audit ls|--since' 'xctl audit ls|--type' 'xctl audit ls|--user' 'xctl audit ls|-c' 'xctl audit ls|-i' 'xctl auth|--config' 'xctl auth|--data-dir' 'xctl auth|--identity' 'xctl auth|--proxy' 'xctl auth|-c' 'xctl auth|-i' 'xctl auth export|--config' 'xctl auth export|--data-dir' 'xctl auth export|--identity' 'xctl auth export|--proxy' 'xctl auth export|--type' 'xctl auth export|-c' 'xctl auth export|-i' 'xctl auth sign|--cluster-ca' 'xctl auth sign|--config' 'xctl auth sign|--data-dir' 'xctl auth sign|--format' 'xctl auth sign|--host' 'xctl auth sign|--identity' 'xctl auth sign|--out' 'xctl auth sign|--proxy' 'xctl auth sign|--ttl' 'xctl auth sign|--user' 'xctl auth sign|-c' 'xctl auth sign|-i' 'xctl auth sign|-o' 'xctl backend|--config' 'xctl backend|--data-dir' 'xctl backend|--identity' 'xctl backend|--proxy' 'xctl backend|-c' 'xctl backend|-i' 'xctl backend check|--ca-file' 'xctl backend check|--cert-file' 'xctl backend check|--config' 'xctl backend check|--data-dir' 'xctl backend check|--format' 'xctl backend check|--identity' 'xctl backend check|--key-file' 'xctl backend check|--proxy' 'xctl backend check|--storage' 'xctl backend check|-c' 'xctl backend check|-i' 'xctl backend migrate|--ca-file' 'xctl backend migrate|--cert-file' 'xctl backend migrate|--config' 'xctl backend migrate|--data-dir' 'xctl backend migrate|--format' 'xctl backend migrate|--from' 'xctl backend migrate|--identity' 'xctl backend migrate|--key-file' 'xctl backend migrate|--proxy' 'xctl backend migrate|--to' 'xctl backend migrate|-c' 'xctl backend migrate|-i' 'xctl create|--config' 'xctl create|--data-dir' 'xctl create|--file' 'xctl create|--identity' 'xctl create|--proxy' 'xctl create|-c' 'xctl create|-f' 'xctl create|-i' 'xctl db|--config' 'xctl db|--data-dir' 'xctl db|--identity' 'xctl db|--proxy' 'xctl db|-c' 'xctl db|-i' 'xctl db configure|--config' 'xctl db configure|--data-dir' 'xctl db configure|--identity' 'xctl db configure|--proxy' 'xctl db configure|-c' 'xctl db configure|-i' 'xctl db configure bootstrap|--assignee' 'xctl db configure bootstrap|--attach-to-role' 'xctl db configure bootstrap|--attach-to-user' 'xctl db configure bootstrap|--azure-cloud' 'xctl db configure bootstrap|--config' 'xctl db configure bootstrap|--data-dir' 'xctl db configure bootstrap|--identity' 'xctl db configure bootstrap|--policy-name' 'xctl db configure bootstrap|--proxy' 'xctl db configure bootstrap|--role-name' 'xctl db configure bootstrap|-c' 'xctl db configure bootstrap|-i' 'xctl db configure create|--aws-assume-role-arn' 'xctl db configure create|--aws-elasticache-group-id' 'xctl db configure create|--aws-external-id' 'xctl db configure create|--aws-memorydb-cluster-name' 'xctl db configure create|--aws-region' 'xctl db configure create|--aws-tags' 'xctl db configure create|--azure-redis-discovery' 'xctl db configure create|--azure-resource-group' 'xctl db configure create|--azure-subscription' 'xctl db configure create|--ca-cert-file' 'xctl db configure create|--ca-pin' 'xctl db configure create|--config' 'xctl db configure create|--data-dir' 'xctl db configure create|--elasticache-discovery' 'xctl db configure create|--identity' 'xctl db configure create|--labels' 'xctl db configure create|--memorydb-discovery' 'xctl db configure create|--name' 'xctl db configure create|--output' 'xctl db configure create|--protocol' 'xctl db configure create|--proxy' 'xctl db configure create|--token' 'xctl db configure create|--uri' 'xctl db configure create|-c' 'xctl db configure create|-i' 'xctl db configure create|-o' 'xctl db ls|--config' 'xctl db ls|--data-dir' 'xctl db ls|--format' 'xctl db ls|--identity' 'xctl db ls|--proxy' 'xctl db ls|-c' 'xctl db ls|-i' 'xctl db secret|--config' 'xctl db secret|--data-dir' 'xctl db secret|--identity' 'xctl db secret|--proxy' 'xctl db secret|-c' 'xctl db secret|-i' 'xctl db secret ls|--config' 'xctl db secret ls|--data-dir' 'xctl db secret ls|--format' 'xctl db secret ls|--identity' 'xctl db secret ls|--proxy' 'xctl db secret ls|-c' 'xctl db secret ls|-i' 'xctl db secret rm|--config' 'xctl db secret rm|--data-dir' 'xctl db secret rm|--identity' 'xctl db secret rm|--proxy' 'xctl db secret rm|-c' 'xctl db secret rm|-i' 'xctl db secret set|--config' 'xctl db secret set|--data-dir' 'xctl db secret set|--db' 'xctl db secret set|--identity' 'xctl db secret set|--proxy' 'xctl db secret set|-c' 'xctl db secret set|-i' 'xctl db users|--config' 'xctl db users|--data-dir' 'xctl db users|--identity' 'xctl db users|--proxy' 'xctl db users|-c' 'xctl db users|-i' 'xctl db users ls|--config' 'xctl db users ls|--data-dir' 'xctl db users ls|--format' 'xctl db users ls|--identity' 'xctl db users ls|--proxy' 'xctl db users ls|-c' 'xctl db users ls|-i' 'xctl db users sync|--config' 'xctl db users sync|--data-dir' 'xctl db users sync|--identity' 'xctl db users sync|--proxy' 'xctl db users sync|-c' 'xctl db users sync|-i' 'xctl get|--config' 'xctl get|--data-dir' 'xctl get|--format' 'xctl get|--identity' 'xctl get|--proxy' 'xctl get|-c' 'xctl get|-i' 'xctl install|--config' 'xctl install|--data-dir' 'xctl install|--identity' 'xctl install|--proxy' 'xctl install|-c' 'xctl install|-i' 'xctl install systemd|--binary' 'xctl install systemd|--config' 'xctl install systemd|--config-path' 'xctl install systemd|--data-dir' 'xctl install systemd|--identity' 'xctl install systemd|--output' 'xctl install systemd|--proxy' 'xctl install systemd|-c' 'xctl install systemd|-i' 'xctl install systemd|-o' 'xctl rm|--config' 'xctl rm|--data-dir' 'xctl rm|--identity' 'xctl rm|--proxy' 'xctl rm|-c' 'xctl rm|-i' 'xctl start|--cluster-name' 'xctl start|--config' 'xctl start|--data-dir' 'xctl start|--identity' 'xctl start|--listen-addr' 'xctl start|--proxy' 'xctl start|-c' 'xctl start|-i' 'xctl status|--config' 'xctl status|--data-dir' 'xctl status|--format' 'xctl status|--identity' 'xctl status|--proxy' 'xctl status|-c' 'xctl status|-i' 'xctl tokens|--config' 'xctl tokens|--data-dir' 'xctl tokens|--identity' 'xctl tokens|--proxy' 'xctl tokens|-c' 'xctl tokens|-i' 'xctl tokens add|--config' 'xctl tokens add|--data-dir' 'xctl tokens add|--format' 'xctl tokens add|--identity' 'xctl tokens add|--labels' 'xctl tokens add|--proxy' 'xctl tokens add|--ttl' 'xctl tokens add|--type' 'xctl tokens add|--uses' 'xctl tokens add|--value' 'xctl tokens add|-c' 'xctl tokens add|-i' 'xctl tokens ls|--config' 'xctl tokens ls|--data-dir' 'xctl tokens ls|--format' 'xctl tokens ls|--identity' 'xctl tokens ls|--proxy' 'xctl tokens ls|-c' 'xctl tokens ls|-i' 'xctl tokens rm|--config' 'xctl tokens rm|--data-dir' 'xctl tokens rm|--identity' 'xctl tokens rm|--proxy' 'xctl tokens rm|-c' 'xctl tokens rm|-i' 'xctl users|--config' 'xctl users|--data-dir' 'xctl users|--identity' 'xctl users|--proxy' 'xctl users|-c' 'xctl users|-i' 'xctl users add|--config' 'xctl users add|--data-dir' 'xctl users add|--db-names' 'xctl users add|--db-users' 'xctl users add|--format' 'xctl users add|--identity' 'xctl users add|--proxy' 'xctl users add|--roles' 'xctl users add|--ttl' 'xctl users add|-c' 'xctl users add|-i' 'xctl users ls|--config' 'xctl users ls|--data-dir' 'xctl users ls|--format' 'xctl users ls|--identity' 'xctl users ls|--proxy' 'xctl users ls|-c' 'xctl users ls|-i' 'xctl users reset|--config' 'xctl users reset|--data-dir' 'xctl users reset|--identity' 'xctl users reset|--proxy' 'xctl users reset|--ttl' 'xctl users reset|-c' 'xctl users reset|-i' 'xctl users rm|--config' 'xctl users rm|--data-dir' 'xctl users rm|--identity' 'xctl users rm|--proxy' 'xctl users rm|-c' 'xctl users rm|-i' 'xctl users update|--config' 'xctl users update|--data-dir' 'xctl users update|--identity' 'xctl users update|--proxy' 'xctl users update|--set-db-names' 'xctl users update|--set-db-users' 'xctl users update|--set-roles' 'xctl users update|-c' 'xctl users update|-i'
            echo required
        case '*'
            return 1
    end
end

function __xctl_state --description 'Print the command path the command line has reached, then its operand count'
    set -l line (commandline -pc)
    if test "$line" = "$__xctl_state_line"
        printf '%s\n' $__xctl_state_value
        return
    end
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l p 'xctl'
    set -l n 0
    set -l end 0
    set -l i 1
    set -l next
    set -l kind
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        if test $end -eq 1
            set n (math $n + 1)
        else if test "$w" = --
            set end 1
        else if string match -q -- '-*=*' $w
            # the value is attached
        else if string match -q -- '-*' $w
            set kind (__xctl_takes_value $p $w)
            if test "$kind" = required
                set i (math $i + 1)
            else if test "$kind" = optional
                set next $tokens[(math $i + 1)]
                if test -n "$next"; and not string match -q -- '-*' $next
                    set i (math $i + 1)
                end
            end
        else if set next (__xctl_step $p $w)
            set p $next
            set n 0
        else
            set n (math $n + 1)
        end
        set i (math $i + 1)
    end
    set -g __xctl_state_line $line
    set -g __xctl_state_value $p $n
    printf '%s\n' $p $n
end

function __xctl_at --description 'Succeed when the command line has reached a command path'
    set -l s (__xctl_state)
    test "$s[1]" = "$argv[1]"
end

function __xctl_operand --description 'Succeed when the current word is operand N (or later, for a variadic one) of a path'
    set -l s (__xctl_state)
    test "$s[1]" = "$argv[1]"; or return 1
    set -l k (math $s[2] + 1)
    test $k -eq $argv[2]; or begin; test "$argv[3]" = variadic; and test $k -ge $argv[2]; end
end

# xctl
complete -c xctl -n '__xctl_at \'xctl\'' -f
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'audit\'' -d 'audit log'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'auth\'' -d 'certificate authority operations'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'backend\'' -d 'the storage backend: copy a cluster into PostgreSQL, check for corruption'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'create\'' -d 'create roles or databases (kind: db) from a YAML file'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'db\'' -d 'databases and database agents'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'get\'' -d 'print roles, role/NAME, users, user/NAME, dbs, db/NAME or tokens'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'install\'' -d 'install xport as a system service'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'rm\'' -d 'remove role/NAME, user/NAME, db/NAME or token/TOKEN'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'start\'' -d 'run the auth service, proxy and database agent from the config (embedded all-in-one default without one)'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'status\'' -d 'show the cluster name, version, certificate authorities and CA pin'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'tokens\'' -d 'manage join tokens for database agents'
complete -c xctl -n '__xctl_at \'xctl\'' -f -a '\'users\'' -d 'manage users'
complete -c xctl -n '__xctl_at \'xctl\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl audit
complete -c xctl -n '__xctl_at \'xctl audit\'' -f
complete -c xctl -n '__xctl_at \'xctl audit\'' -f -a '\'ls\'' -d 'list the newest audit events (newest last, like tail)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl audit\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl audit\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl audit\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl audit ls
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -f
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'f' -l 'follow' -d 'keep printing new events as they are recorded, until Ctrl-C'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'limit' -r -d 'show the newest n events (default 100)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'since' -r -d 'only events newer than a duration ago (1h) or a date (2026-01-01)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'type' -r -d 'only events of this type (e.g. user.login, db.session.query)'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -l 'user' -r -d 'only events of this user'
complete -c xctl -n '__xctl_at \'xctl audit ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl auth
complete -c xctl -n '__xctl_at \'xctl auth\'' -f
complete -c xctl -n '__xctl_at \'xctl auth\'' -f -a '\'export\'' -d 'print CA certificates (PEM)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -f -a '\'sign\'' -d 'issue Redis server certificates (--format=redis) or a user identity file for CI (--format=file)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl auth\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl auth\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl auth\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl auth export
complete -c xctl -n '__xctl_at \'xctl auth export\'' -f
complete -c xctl -n '__xctl_at \'xctl auth export\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -l 'type' -x -a '\'db\' \'db-client\' \'host\' \'tls\' \'tls-host\' \'tls-user\' \'user\'' -d 'which CA (choices: "user", "host", "tls-user", "tls-host", "tls", "db", "db-client")'
complete -c xctl -n '__xctl_at \'xctl auth export\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl auth sign
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -f
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'cluster' -d 'with --format=redis: a Redis Cluster node (server and client certificate from a cluster CA; the .cas trusts nodes and xport)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'cluster-ca' -r -d 'with --cluster: the cluster CA files <prefix>.crt/.key, created when absent and reused for the other nodes (default: cluster-ca next to --out)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'format' -x -a '\'file\' \'redis\'' -d 'what to issue (choices: "redis", "file", default: "file")'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'host' -r -d 'with --format=redis: comma-separated host names and IPs (CN = the first)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'o' -l 'out' -r -d 'output path (prefix for --format=redis)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'overwrite' -d 'replace existing files'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'ttl' -r -d 'certificate lifetime (default 12h)'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -l 'user' -r -d 'with --format=file: the user the identity is for'
complete -c xctl -n '__xctl_at \'xctl auth sign\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl backend
complete -c xctl -n '__xctl_at \'xctl backend\'' -f
complete -c xctl -n '__xctl_at \'xctl backend\'' -f -a '\'check\'' -d 'read the whole backend and report corruption: schema version, values and events that do not parse, bad revisions'
complete -c xctl -n '__xctl_at \'xctl backend\'' -f -a '\'migrate\'' -d 'copy every key and audit event from the SQLite store into PostgreSQL, verifying the copy (safe to re-run)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl backend\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl backend\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl backend\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl backend check
complete -c xctl -n '__xctl_at \'xctl backend check\'' -f
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'ca-file' -r -d 'with postgres://: CA that signed the server certificate (turns on verify-full TLS)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'cert-file' -r -d 'with postgres://: client certificate'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'key-file' -r -d 'with postgres://: client key'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -l 'storage' -r -d 'sqlite:DIR or postgres://... (default: auth_service.storage of the config)'
complete -c xctl -n '__xctl_at \'xctl backend check\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl backend migrate
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -f
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'ca-file' -r -d 'with postgres://: CA that signed the server certificate (turns on verify-full TLS)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'cert-file' -r -d 'with postgres://: client certificate'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'from' -r -d 'data dir of the cluster to copy (its service must be stopped)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'key-file' -r -d 'with postgres://: client key'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'overwrite' -d 'replace keys the target holds with different values'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -l 'to' -r -d 'the PostgreSQL database to copy into'
complete -c xctl -n '__xctl_at \'xctl backend migrate\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl create
complete -c xctl -n '__xctl_at \'xctl create\'' -f
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl create\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'f' -l 'file' -r -d 'YAML file with one or more roles or databases (- for stdin)'
complete -c xctl -n '__xctl_at \'xctl create\'' -l 'force' -d 'overwrite what exists'
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl create\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl create\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl create\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db
complete -c xctl -n '__xctl_at \'xctl db\'' -f
complete -c xctl -n '__xctl_at \'xctl db\'' -f -a '\'configure\'' -d 'generate database agent configuration'
complete -c xctl -n '__xctl_at \'xctl db\'' -f -a '\'ls\'' -d 'list databases and the agents serving them'
complete -c xctl -n '__xctl_at \'xctl db\'' -f -a '\'secret\'' -d 'secrets agents need to reach a database: a managed database\'s Redis admin password (admin.password_secret)'
complete -c xctl -n '__xctl_at \'xctl db\'' -f -a '\'users\'' -d 'database users the agent manages'
complete -c xctl -n '__xctl_at \'xctl db\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db configure
complete -c xctl -n '__xctl_at \'xctl db configure\'' -f
complete -c xctl -n '__xctl_at \'xctl db configure\'' -f -a '\'bootstrap\'' -d 'print or create the cloud permissions the database agent of a config needs: an IAM policy (AWS), or with --azure a custom role'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -f -a '\'create\'' -d 'write the config for a database agent that joins this cluster with a token'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db configure\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db configure bootstrap
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -f
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'assignee' -r -d 'with --azure: the principal to assign the role to (default: the identity xctl runs as)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'attach-to-role' -r -d 'IAM role to attach the policy to'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'attach-to-user' -r -d 'IAM user to attach the policy to'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'azure' -d 'Azure: a custom role with exactly the actions the config needs'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'azure-cloud' -r -d 'with --azure: AzurePublicCloud, AzureChinaCloud or AzureUSGovernment (default: the config\'s azure_cloud)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'confirm' -d 'do not ask before changing IAM'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'manual' -d 'print the policy and the steps; change nothing in AWS'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'policy-name' -r -d 'name of the IAM policy (default: "XportDatabaseAccess")'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -l 'role-name' -r -d 'with --azure: name of the custom role (default: "XportDatabaseService")'
complete -c xctl -n '__xctl_at \'xctl db configure bootstrap\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db configure create
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -f
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-assume-role-arn' -r -d 'IAM role the agent assumes to reach the database (and discovery)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-elasticache-group-id' -r -d 'ElastiCache replication group id of the database'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-external-id' -r -d 'external id the role trust policy requires'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-memorydb-cluster-name' -r -d 'MemoryDB cluster name of the database'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-region' -r -d 'AWS region of the database (ElastiCache, MemoryDB)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'aws-tags' -r -d 'only discover AWS resources with these tags'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'azure-redis-discovery' -r -d 'discover Azure Cache for Redis and Redis Enterprise / Managed Redis in these regions (comma-separated, * for all)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'azure-resource-group' -r -d 'with --azure-redis-discovery: only these resource groups (default: all)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'azure-subscription' -r -d 'with --azure-redis-discovery: only these subscriptions (default: all the agent can see)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'ca-cert-file' -r -d 'CA that signed the database\'s certificate (default: the cluster\'s db CA)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'ca-pin' -r -d 'CA pin to verify the proxy on first join (from `xctl status`)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'data-dir' -r -d 'the agent\'s data dir (default: "/var/lib/xport")'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'elasticache-discovery' -r -d 'discover ElastiCache replication groups in these regions (comma-separated)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'labels' -r -d 'static labels for the --name database; with --azure-redis-discovery, the Azure tags a cache must have'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'memorydb-discovery' -r -d 'discover MemoryDB clusters in these regions (comma-separated)'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'name' -r -d 'name of a database to serve'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'o' -l 'output' -r -d 'stdout, file (/etc/xport.yaml) or file:///path (default: "stdout")'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'protocol' -r -d 'database protocol (default: "redis")'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'proxy' -r -d 'the proxy address the agent dials'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'token' -r -d 'join token from `xctl tokens add --type=db`, or a path to a file holding it'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -l 'uri' -r -d 'database address: rediss://host:port[?mode=cluster]'
complete -c xctl -n '__xctl_at \'xctl db configure create\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db ls
complete -c xctl -n '__xctl_at \'xctl db ls\'' -f
complete -c xctl -n '__xctl_at \'xctl db ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db secret
complete -c xctl -n '__xctl_at \'xctl db secret\'' -f
complete -c xctl -n '__xctl_at \'xctl db secret\'' -f -a '\'ls\'' -d 'list database secrets (names, databases, key id; never values)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -f -a '\'rm\'' -d 'delete a database secret'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -f -a '\'del\'' -d 'delete a database secret'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -f -a '\'set\'' -d 'store a secret, encrypted with a key only the auth service holds; agents serving the named databases may read it'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db secret\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db secret ls
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -f
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db secret ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db secret rm
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db secret rm\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db secret set
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -l 'db' -r -d 'databases whose agents may read it, comma-separated (default: the database named like the secret)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -l 'password-stdin' -d 'read the value from standard input (required: a value on the command line would land in shell history)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db secret set\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db users
complete -c xctl -n '__xctl_at \'xctl db users\'' -f
complete -c xctl -n '__xctl_at \'xctl db users\'' -f -a '\'ls\'' -d 'list managed users: self-hosted ones the agent on this host holds (derived ACL, last rotation), else ElastiCache/MemoryDB users of the config'
complete -c xctl -n '__xctl_at \'xctl db users\'' -f -a '\'sync\'' -d 'make the agent on this host write the managed ACL users of DB to Redis again, on every node'
complete -c xctl -n '__xctl_at \'xctl db users\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db users\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db users\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db users\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db users\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db users\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db users\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db users\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db users ls
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db users ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl db users sync
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl db users sync\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl get
complete -c xctl -n '__xctl_at \'xctl get\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl get\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl get\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl get\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "yaml")'
complete -c xctl -n '__xctl_at \'xctl get\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl get\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl get\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl get\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl get\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl install
complete -c xctl -n '__xctl_at \'xctl install\'' -f
complete -c xctl -n '__xctl_at \'xctl install\'' -f -a '\'systemd\'' -d 'print (or write with -o) a systemd unit that runs xctl start -c /etc/xport.yaml'
complete -c xctl -n '__xctl_at \'xctl install\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl install\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl install\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl install\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl install\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl install\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl install\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl install\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl install systemd
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -f
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -l 'binary' -r -d 'path of xctl (default: "/usr/local/bin/xctl")'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -l 'config-path' -r -d 'config file the unit starts with (default: "/etc/xport.yaml")'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'o' -l 'output' -r -d 'stdout (default), file (/etc/systemd/system/xport.service) or file:///path'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl install systemd\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl rm
complete -c xctl -n '__xctl_at \'xctl rm\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl rm\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl rm\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl rm\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl rm\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl rm\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl rm\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl rm\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl start
complete -c xctl -n '__xctl_at \'xctl start\'' -f
complete -c xctl -n '__xctl_at \'xctl start\'' -l 'cluster-name' -r -d 'cluster name for a new data dir (overrides cluster_name)'
complete -c xctl -n '__xctl_at \'xctl start\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl start\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl start\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl start\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl start\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl start\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl start\'' -l 'listen-addr' -r -d 'proxy listen address (overrides proxy_service.listen_addr)'
complete -c xctl -n '__xctl_at \'xctl start\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl start\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl status
complete -c xctl -n '__xctl_at \'xctl status\'' -f
complete -c xctl -n '__xctl_at \'xctl status\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl status\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl status\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl status\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl status\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl status\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl status\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl status\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl status\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl tokens
complete -c xctl -n '__xctl_at \'xctl tokens\'' -f
complete -c xctl -n '__xctl_at \'xctl tokens\'' -f -a '\'add\'' -d 'create a join token'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -f -a '\'ls\'' -d 'list join tokens'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -f -a '\'rm\'' -d 'delete a join token'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -f -a '\'del\'' -d 'delete a join token'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl tokens\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl tokens add
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -f
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (text prints only the token) (choices: "text", "json", "yaml")'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'labels' -r -d 'labels for what joins with the token'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'ttl' -r -d 'token lifetime (default 30m)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'type' -x -a '\'db\'' -d 'what the token admits (choices: "db")'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'uses' -r -d 'how many agents may join with the token (default 1)'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -l 'value' -r -d 'use this value (at least 32 hex characters) instead of a random one'
complete -c xctl -n '__xctl_at \'xctl tokens add\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl tokens ls
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -f
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl tokens ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl tokens rm
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl tokens rm\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users
complete -c xctl -n '__xctl_at \'xctl users\'' -f
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'add\'' -d 'create a user and print a one-time invite'
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'ls\'' -d 'list users'
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'reset\'' -d 'clear the password and second factor and print a reset link'
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'rm\'' -d 'delete users (comma-separated)'
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'del\'' -d 'delete users (comma-separated)'
complete -c xctl -n '__xctl_at \'xctl users\'' -f -a '\'update\'' -d 'change a user\'s roles or traits'
complete -c xctl -n '__xctl_at \'xctl users\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users add
complete -c xctl -n '__xctl_at \'xctl users add\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'db-names' -r -d 'trait db_names: database names (Redis DB numbers) the user may select'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'db-users' -r -d 'trait db_users: database users the user may log in as'
complete -c xctl -n '__xctl_at \'xctl users add\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl users add\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users add\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'roles' -r -d 'comma-separated roles (required)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -l 'ttl' -r -d 'invite lifetime (default 1h, at most 48h)'
complete -c xctl -n '__xctl_at \'xctl users add\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users ls
complete -c xctl -n '__xctl_at \'xctl users ls\'' -f
complete -c xctl -n '__xctl_at \'xctl users ls\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users ls\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users reset
complete -c xctl -n '__xctl_at \'xctl users reset\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -l 'ttl' -r -d 'link lifetime (default 8h, at most 24h)'
complete -c xctl -n '__xctl_at \'xctl users reset\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users rm
complete -c xctl -n '__xctl_at \'xctl users rm\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users rm\'' -s 'V' -l 'version' -d 'print the xctl version'
# xctl users update
complete -c xctl -n '__xctl_at \'xctl users update\'' -s 'c' -l 'config' -r -d 'service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'data-dir' -r -d 'data dir of the local auth service (overrides the config)'
complete -c xctl -n '__xctl_at \'xctl users update\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xctl -n '__xctl_at \'xctl users update\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xctl -n '__xctl_at \'xctl users update\'' -s 'i' -l 'identity' -r -d 'admin identity file, for use away from the auth host (with --proxy)'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'proxy' -r -d 'proxy address when using -i (env XCTL_PROXY)'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'set-db-names' -r -d 'replace the db_names trait'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'set-db-users' -r -d 'replace the db_users trait'
complete -c xctl -n '__xctl_at \'xctl users update\'' -l 'set-roles' -r -d 'replace the roles'
complete -c xctl -n '__xctl_at \'xctl users update\'' -s 'V' -l 'version' -d 'print the xctl version'
