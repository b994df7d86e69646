# fish completion for xsh: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: copy this file to ~/.config/fish/completions/xsh.fish.

function __xsh_step --description 'Print the command path a word selects after a path'
    switch "$argv[1]|$argv[2]"
        case 'xsh|login'
            echo 'xsh login'
        case 'xsh|logout'
            echo 'xsh logout'
        case 'xsh|status'
            echo 'xsh status'
        case '*'
            return 1
    end
end

function __xsh_takes_value --description 'Print required or optional when a flag of a path takes a value'
    switch "$argv[1]|$argv[2]"
        case 'xsh|--identity' 'xsh|--proxy' 'xsh|--user' 'xsh|-i' 'xsh login|--ca-pin' 'xsh login|--identity' 'xsh login|--invite' 'xsh login|--key-storage' 'xsh login|--otp' 'xsh login|--proxy' 'xsh login|--ttl' 'xsh login|--user' 'xsh login|-i' 'xsh logout|--identity' 'xsh logout|--proxy' 'xsh logout|--user' 'xsh logout|-i' 'xsh status|--format' 'xsh status|--identity' 'xsh status|--proxy' 'xsh status|--user' 'xsh status|-f' 'xsh status|-i'
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
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'login\'' -d 'log in to an xport cluster and save a short-lived certificate'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'logout\'' -d 'remove the saved certificates and keys of every profile (or the one named by --proxy)'
complete -c xsh -n '__xsh_at \'xsh\'' -f -a '\'status\'' -d 'show the current login: user, cluster, roles and certificate validity'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh\'' -s 'v' -l 'version' -d 'print the xsh version'
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
complete -c xsh -n '__xsh_at \'xsh login\'' -s 'v' -l 'version' -d 'print the xsh version'
# xsh logout
complete -c xsh -n '__xsh_at \'xsh logout\'' -f
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh logout\'' -s 'v' -l 'version' -d 'print the xsh version'
# xsh status
complete -c xsh -n '__xsh_at \'xsh status\'' -f
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'd' -l 'debug' -d 'print stack traces and causes of errors'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'f' -l 'format' -x -a '\'json\' \'text\' \'yaml\'' -d 'output format (choices: "text", "json", "yaml", default: "text")'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'h' -l 'help' -d 'display help for command'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'i' -l 'identity' -r -d 'identity file from `xctl auth sign --format=file` (env XSH_IDENTITY)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'insecure' -d 'do not verify the proxy certificate (throwaway test clusters only)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'proxy' -r -d 'xport proxy address (env XSH_PROXY)'
complete -c xsh -n '__xsh_at \'xsh status\'' -l 'user' -r -d 'xport user name (env XSH_USER)'
complete -c xsh -n '__xsh_at \'xsh status\'' -s 'v' -l 'version' -d 'print the xsh version'
