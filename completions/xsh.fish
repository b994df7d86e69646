# fish completion for xsh: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: copy this file to ~/.config/fish/completions/xsh.fish.

function __xsh_step --description 'Print the command path a word selects after a path'
    switch "$argv[1]|$argv[2]"
        case 'xsh|db'
            echo 'xsh db'
        case 'xsh|login'
            echo 'xsh login'
        case 'xsh|logout'
            echo 'xsh logout'
        case 'xsh|proxy'
            echo 'xsh proxy'
        case 'xsh|status'
            echo 'xsh status'
        case 'xsh db|config'
            echo 'xsh db config'
        case 'xsh db|connect'
            echo 'xsh db connect'
        case 'xsh db|env'
            echo 'xsh db env'
        case 'xsh db|login'
            echo 'xsh db login'
        case 'xsh db|logout'
            echo 'xsh db logout'
        case 'xsh db|ls'
            echo 'xsh db ls'
        case 'xsh proxy|db'
            echo 'xsh proxy db'
        case '*'
            return 1
    end
end

function __xsh_takes_value --description 'Print required or optional when a flag of a path takes a value'
    switch "$argv[1]|$argv[2]"
        case 'xsh|--identity' 'xsh|--proxy' 'xsh|--user' 'xsh|-i' 'xsh db|--identity' 'xsh db|--proxy' 'xsh db|--user' 'xsh db|-i' 'xsh db config|--format' 'xsh db config|--identity' 'xsh db config|--port' 'xsh db config|--proxy' 'xsh db config|--user' 'xsh db config|-f' 'xsh db config|-i' 'xsh db config|-p' 'xsh db connect|--db-name' 'xsh db connect|--db-user' 'xsh db connect|--identity' 'xsh db connect|--proxy' 'xsh db connect|--user' 'xsh db connect|-i' 'xsh db connect|-n' 'xsh db connect|-u' 'xsh db env|--format' 'xsh db env|--identity' 'xsh db env|--proxy' 'xsh db env|--user' 'xsh db env|-i' 'xsh db login|--db-name' 'xsh db login|--db-user' 'xsh db login|--identity' 'xsh db login|--proxy' 'xsh db login|--user' 'xsh db login|-i' 'xsh db login|-n' 'xsh db login|-u' 'xsh db logout|--identity' 'xsh db logout|--proxy' 'xsh db logout|--user' 'xsh db logout|-i' 'xsh db ls|--format' 'xsh db ls|--identity' 'xsh db ls|--proxy' 'xsh db ls|--query' 'xsh db ls|--search' 'xsh db ls|--user' 'xsh db ls|-f' 'xsh db ls|-i' 'xsh login|--ca-pin' 'xsh login|--identity' 'xsh login|--invite' 'xsh login|--key-storage' 'xsh login|--otp' 'xsh login|--proxy' 'xsh login|--ttl' 'xsh login|--user' 'xsh login|-i' 'xsh logout|--identity' 'xsh logout|--proxy' 'xsh logout|--user' 'xsh logout|-i' 'xsh proxy|--identity' 'xsh proxy|--proxy' 'xsh proxy|--user' 'xsh proxy|-i' 'xsh proxy db|--db-name' 'xsh proxy db|--db-user' 'xsh proxy db|--identity' 'xsh proxy db|--port' 'xsh proxy db|--proxy' 'xsh proxy db|--user' 'xsh proxy db|-i' 'xsh proxy db|-n' 'xsh proxy db|-p' 'xsh proxy db|-u' 'xsh status|--format' 'xsh status|--identity' 'xsh status|--proxy' 'xsh status|--user' 'xsh status|-f' 'xsh status|-i'
            echo required
        case '*'
            return 1
    end
end

function __xsh_state --description 'Print the command path the command line has reached, then its operand count'
    set -l line (commandline -pc)
    if test "$line" = "$__xsh_state_line"
        printf '%s\n' $__xsh_state_value
        return
    end
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l p 'xsh'
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
            set kind (__xsh_takes_value $p $w)
            if test "$kind" = required
                set i (math $i + 1)
            else if test "$kind" = optional
                set next $tokens[(math $i + 1)]
                if test -n "$next"; and not string match -q -- '-*' $next
                    set i (math $i + 1)
                end
            end
        else if set next (__xsh_step $p $w)
            set p $next
            set n 0
        else
            set n (math $n + 1)
        end
        set i (math $i + 1)
    end
    set -g __xsh_state_line $line
    set -g __xsh_state_value $p $n
    printf '%s\n' $p $n
end

function __xsh_at --description 'Succeed when the command line has reached a command path'
    set -l s (__xsh_state)
    test "$s[1]" = "$argv[1]"
end

function __xsh_operand --description 'Succeed when the current word is operand N (or later, for a variadic one) of a path'
    set -l s (__xsh_state)
    test "$s[1]" = "$argv[1]"; or return 1
    set -l k (math $s[2] + 1)
    test $k -eq $argv[2]; or begin; test "$argv[3]" = variadic; and test $k -ge $argv[2]; end
end

# xsh
complete -c xsh -n '__xsh_at \'xsh\'' -f
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'db\'' -d 'list Redis databases, log in to them and connect with redis-cli'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'login\'' -d 'log in to an xport cluster and save a short-lived certificate'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'logout\'' -d 'remove the saved certificates and keys of every profile (or the one named by --proxy); the cluster CA stays known'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'proxy\'' -d 'local proxies for database clients other than the ones xsh starts'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'status\'' -d 'show the current login: user, cluster, roles and certificate validity'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db
complete -c xsh -n '__xsh_at \'xsh db\'' -f
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'config\'' -d 'show the files of a database login, or (--format=cmd) the commands that reach the database'
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'connect\'' -d 'connect redis-cli to a database through a local tunnel (logging in first when needed); exits with redis-cli\'s status'
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'env\'' -d 'print REDIS_URL, REDIS_HOST and REDIS_PORT of a running `xsh proxy db --tunnel` (export lines, or --format=dotenv)'
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'login\'' -d 'get a certificate routed to one database and save it in the profile'
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'logout\'' -d 'remove the saved certificate of one database, or of all databases'
complete -c xsh -n '__xsh_at \'xsh db\'' -f -a '\'ls\'' -d 'list the databases your roles allow; ">" marks the ones you are logged into'
complete -c xsh -n '__xsh_at \'xsh db\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db config
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'f' -l 'format' -x -a '\'cmd\' \'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "cmd", "json", "yaml", default: "text")'
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db config\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'p' -l 'port' -r -d 'with --format=cmd: the local tunnel port to show (default: the placeholder PORT)'
complete -c xsh -n '__xsh_at \'xsh db config\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db config\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db config\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db connect
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'n' -l 'db-name' -r -d 'database name: the Redis DB number to select'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'u' -l 'db-user' -r -d 'database user to log in as (default: chosen by the server from your roles)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -l 'resp3' -d 'start redis-cli in RESP3 mode (redis-cli -3)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db connect\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db env
complete -c xsh -n '__xsh_at \'xsh db env\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db env\'' -l 'format' -x -a '\'dotenv\' \'shell\'' -d 'output format (choices: "shell", "dotenv", default: "shell")'
complete -c xsh -n '__xsh_at \'xsh db env\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db env\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db env\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db env\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db env\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db env\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db login
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'n' -l 'db-name' -r -d 'database name: the Redis DB number to select'
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'u' -l 'db-user' -r -d 'database user to log in as (default: chosen by the server from your roles)'
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db login\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db login\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db login\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db login\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db logout
complete -c xsh -n '__xsh_at \'xsh db logout\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db logout\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh db ls
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'f' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -l 'query' -r -d 'only databases matching a predicate: name == "x", labels["env"] == "dev", joined by &&'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -l 'search' -r -d 'only databases whose name, description or labels contain every comma-separated keyword'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'v' -l 'verbose' -d 'also show each database\'s protocol, type and URI'
complete -c xsh -n '__xsh_at \'xsh db ls\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh login
complete -c xsh -n '__xsh_at \'xsh login\'' -f
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'ca-pin' -r -d 'trust the proxy when its CA matches this pin (from `xctl status`)'
complete -c xsh -n '__xsh_at \'xsh login\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh login\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh login\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'invite' -r -d 'complete an invite (or password reset) token from `xctl users add`'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'key-storage' -x -a '\'auto\' \'file\' \'keychain\'' -d 'where to keep the private key (choices: "auto", "keychain", "file", default: "auto")'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'otp' -r -d 'one-time code from your authenticator app'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'password-stdin' -d 'read the password (and then a one-time code, when needed) from standard input'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'ttl' -r -d 'certificate lifetime in minutes or as a duration (12h), capped by your roles'
complete -c xsh -n '__xsh_at \'xsh login\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh login\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh logout
complete -c xsh -n '__xsh_at \'xsh logout\'' -f
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'forget-ca' -d 'also forget the cluster CA, so the next login needs --ca-pin again'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh proxy
complete -c xsh -n '__xsh_at \'xsh proxy\'' -f
complete -c xsh -n '__xsh_at \'xsh proxy\'' -f -a '\'db\'' -d 'start an authenticated local tunnel to a database for any Redis client; runs until interrupted'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh proxy\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh proxy db
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'n' -l 'db-name' -r -d 'database name: the Redis DB number to select'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'u' -l 'db-user' -r -d 'database user to log in as (default: chosen by the server from your roles)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'p' -l 'port' -r -d 'local port to listen on (default: a random free port)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -l 'tunnel' -d 'authenticated tunnel: it does the TLS with the proxy, so clients connect without certificates (required for Redis)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh proxy db\'' -s 'V' -l 'version' -d 'print the xsh version'
# xsh status
complete -c xsh -n '__xsh_at \'xsh status\'' -f
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'f' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'V' -l 'version' -d 'print the xsh version'
