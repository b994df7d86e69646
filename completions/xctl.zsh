#compdef xctl
# zsh completion for xctl: generated from the commander tree by scripts/gen-docs.js (npm run gen:docs); do not edit.
# Install: copy this file as _xctl into a directory on $fpath, or source it after compinit.

# __xctl_spec fills the subcommands and flags (name:description) and the value-taking flags of one path.
__xctl_spec() {
  __xctl_subs=() __xctl_flags=() __xctl_req=() __xctl_opt=() __xctl_args=0 __xctl_last=0
  case "$1" in
    'xctl')
      __xctl_subs=('audit:audit log' 'auth:certificate authority operations' 'backend:the storage backend: copy a cluster into PostgreSQL, check for corruption' 'create:create roles or databases (kind: db) from a YAML file' 'db:databases and database agents' 'get:print roles, role/NAME, users, user/NAME, dbs, db/NAME or tokens' 'install:install xport as a system service' 'rm:remove role/NAME, user/NAME, db/NAME or token/TOKEN' 'start:run the auth service, proxy and database agent from the config (embedded all-in-one default without one)' 'status:show the cluster name, version, certificate authorities and CA pin' 'tokens:manage join tokens for database agents' 'users:manage users')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl audit')
      __xctl_subs=('ls:list the newest audit events (newest last, like tail)')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl audit ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--follow:keep printing new events as they are recorded, until Ctrl-C' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--limit:show the newest n events (default 100)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--since:only events newer than a duration ago (1h) or a date (2026-01-01)' '--type:only events of this type (e.g. user.login, db.session.query)' '--user:only events of this user' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-f:keep printing new events as they are recorded, until Ctrl-C' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--limit' '--proxy' '--since' '--type' '--user' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth')
      __xctl_subs=('export:print CA certificates (PEM)' 'sign:issue Redis server certificates (--format=redis) or a user identity file for CI (--format=file)')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth export')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--type:which CA (choices: "user", "host", "tls-user", "tls-host", "tls", "db", "db-client")' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '--type' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl auth sign')
      __xctl_subs=()
      __xctl_flags=('--cluster:with --format=redis: a Redis Cluster node (server and client certificate from a cluster CA; the .cas trusts nodes and xport)' '--cluster-ca:with --cluster: the cluster CA files <prefix>.crt/.key, created when absent and reused for the other nodes (default: cluster-ca next to --out)' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:what to issue (choices: "redis", "file", default: "file")' '--help:display help for command' '--host:with --format=redis: comma-separated host names and IPs (CN = the first)' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--out:output path (prefix for --format=redis)' '--overwrite:replace existing files' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--ttl:certificate lifetime (default 12h)' '--user:with --format=file: the user the identity is for' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)' '-o:output path (prefix for --format=redis)')
      __xctl_req=('--cluster-ca' '--config' '--data-dir' '--format' '--host' '--identity' '--out' '--proxy' '--ttl' '--user' '-c' '-i' '-o')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend')
      __xctl_subs=('check:read the whole backend and report corruption: schema version, values and events that do not parse, bad revisions' 'migrate:copy every key and audit event from the SQLite store into PostgreSQL, verifying the copy (safe to re-run)')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend check')
      __xctl_subs=()
      __xctl_flags=('--ca-file:with postgres://: CA that signed the server certificate (turns on verify-full TLS)' '--cert-file:with postgres://: client certificate' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--key-file:with postgres://: client key' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--storage:sqlite:DIR or postgres://... (default: auth_service.storage of the config)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--ca-file' '--cert-file' '--config' '--data-dir' '--format' '--identity' '--key-file' '--proxy' '--storage' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl backend migrate')
      __xctl_subs=()
      __xctl_flags=('--ca-file:with postgres://: CA that signed the server certificate (turns on verify-full TLS)' '--cert-file:with postgres://: client certificate' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--from:data dir of the cluster to copy (its service must be stopped)' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--key-file:with postgres://: client key' '--overwrite:replace keys the target holds with different values' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--to:the PostgreSQL database to copy into' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--ca-file' '--cert-file' '--config' '--data-dir' '--format' '--from' '--identity' '--key-file' '--proxy' '--to' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl create')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--file:YAML file with one or more roles or databases (- for stdin)' '--force:overwrite what exists' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-f:YAML file with one or more roles or databases (- for stdin)' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--file' '--identity' '--proxy' '-c' '-f' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db')
      __xctl_subs=('configure:generate database agent configuration' 'ls:list databases and the agents serving them' 'secret:secrets agents need to reach a database: a managed database'\''s Redis admin password (admin.password_secret)' 'users:database users the agent manages')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure')
      __xctl_subs=('bootstrap:print or create the cloud permissions the database agent of a config needs: an IAM policy (AWS), or with --azure a custom role' 'create:write the config for a database agent that joins this cluster with a token')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure bootstrap')
      __xctl_subs=()
      __xctl_flags=('--assignee:with --azure: the principal to assign the role to (default: the identity xctl runs as)' '--attach-to-role:IAM role to attach the policy to' '--attach-to-user:IAM user to attach the policy to' '--azure:Azure: a custom role with exactly the actions the config needs' '--azure-cloud:with --azure: AzurePublicCloud, AzureChinaCloud or AzureUSGovernment (default: the config'\''s azure_cloud)' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--confirm:do not ask before changing IAM' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--manual:print the policy and the steps; change nothing in AWS' '--policy-name:name of the IAM policy (default: "XportDatabaseAccess")' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--role-name:with --azure: name of the custom role (default: "XportDatabaseService")' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--assignee' '--attach-to-role' '--attach-to-user' '--azure-cloud' '--config' '--data-dir' '--identity' '--policy-name' '--proxy' '--role-name' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db configure create')
      __xctl_subs=()
      __xctl_flags=('--aws-assume-role-arn:IAM role the agent assumes to reach the database (and discovery)' '--aws-elasticache-group-id:ElastiCache replication group id of the database' '--aws-external-id:external id the role trust policy requires' '--aws-memorydb-cluster-name:MemoryDB cluster name of the database' '--aws-region:AWS region of the database (ElastiCache, MemoryDB)' '--aws-tags:only discover AWS resources with these tags' '--azure-redis-discovery:discover Azure Cache for Redis and Redis Enterprise / Managed Redis in these regions (comma-separated, * for all)' '--azure-resource-group:with --azure-redis-discovery: only these resource groups (default: all)' '--azure-subscription:with --azure-redis-discovery: only these subscriptions (default: all the agent can see)' '--ca-cert-file:CA that signed the database'\''s certificate (default: the cluster'\''s db CA)' '--ca-pin:CA pin to verify the proxy on first join (from `xctl status`)' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:the agent'\''s data dir (default: "/var/lib/xport")' '--debug:print stack traces and causes of errors' '--elasticache-discovery:discover ElastiCache replication groups in these regions (comma-separated)' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--labels:static labels for the --name database; with --azure-redis-discovery, the Azure tags a cache must have' '--memorydb-discovery:discover MemoryDB clusters in these regions (comma-separated)' '--name:name of a database to serve' '--output:stdout, file (/etc/xport.yaml) or file:///path (default: "stdout")' '--protocol:database protocol (default: "redis")' '--proxy:the proxy address the agent dials' '--token:join token from `xctl tokens add --type=db`, or a path to a file holding it' '--uri:database address: rediss://host:port[?mode=cluster]' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)' '-o:stdout, file (/etc/xport.yaml) or file:///path (default: "stdout")')
      __xctl_req=('--aws-assume-role-arn' '--aws-elasticache-group-id' '--aws-external-id' '--aws-memorydb-cluster-name' '--aws-region' '--aws-tags' '--azure-redis-discovery' '--azure-resource-group' '--azure-subscription' '--ca-cert-file' '--ca-pin' '--config' '--data-dir' '--elasticache-discovery' '--identity' '--labels' '--memorydb-discovery' '--name' '--output' '--protocol' '--proxy' '--token' '--uri' '-c' '-i' '-o')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret')
      __xctl_subs=('del:delete a database secret' 'ls:list database secrets (names, databases, key id; never values)' 'rm:delete a database secret' 'set:store a secret, encrypted with a key only the auth service holds; agents serving the named databases may read it')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db secret rm')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db secret set')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--db:databases whose agents may read it, comma-separated (default: the database named like the secret)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--password-stdin:read the value from standard input (required: a value on the command line would land in shell history)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--db' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db users')
      __xctl_subs=('ls:list managed users: self-hosted ones the agent on this host holds (derived ACL, last rotation), else ElastiCache/MemoryDB users of the config' 'sync:make the agent on this host write the managed ACL users of DB to Redis again, on every node')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl db users ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl db users sync')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl get')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "yaml")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl install')
      __xctl_subs=('systemd:print (or write with -o) a systemd unit that runs xctl start -c /etc/xport.yaml')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl install systemd')
      __xctl_subs=()
      __xctl_flags=('--binary:path of xctl (default: "/usr/local/bin/xctl")' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--config-path:config file the unit starts with (default: "/etc/xport.yaml")' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--output:stdout (default), file (/etc/systemd/system/xport.service) or file:///path' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)' '-o:stdout (default), file (/etc/systemd/system/xport.service) or file:///path')
      __xctl_req=('--binary' '--config' '--config-path' '--data-dir' '--identity' '--output' '--proxy' '-c' '-i' '-o')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl rm')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl start')
      __xctl_subs=()
      __xctl_flags=('--cluster-name:cluster name for a new data dir (overrides cluster_name)' '--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--listen-addr:proxy listen address (overrides proxy_service.listen_addr)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--cluster-name' '--config' '--data-dir' '--identity' '--listen-addr' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl status')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens')
      __xctl_subs=('add:create a join token' 'del:delete a join token' 'ls:list join tokens' 'rm:delete a join token')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens add')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (text prints only the token) (choices: "text", "json", "yaml")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--labels:labels for what joins with the token' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--ttl:token lifetime (default 30m)' '--type:what the token admits (choices: "db")' '--uses:how many agents may join with the token (default 1)' '--value:use this value (at least 32 hex characters) instead of a random one' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--labels' '--proxy' '--ttl' '--type' '--uses' '--value' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl tokens rm')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users')
      __xctl_subs=('add:create a user and print a one-time invite' 'del:delete users (comma-separated)' 'ls:list users' 'reset:clear the password and second factor and print a reset link' 'rm:delete users (comma-separated)' 'update:change a user'\''s roles or traits')
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl users add')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--db-names:trait db_names: database names (Redis DB numbers) the user may select' '--db-users:trait db_users: database users the user may log in as' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--roles:comma-separated roles (required)' '--ttl:invite lifetime (default 1h, at most 48h)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--db-names' '--db-users' '--format' '--identity' '--proxy' '--roles' '--ttl' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users ls')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--format:output format (choices: "text", "json", "yaml", default: "text")' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--format' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=0
      __xctl_last=0
      ;;
    'xctl users reset')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--ttl:link lifetime (default 8h, at most 24h)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '--ttl' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users rm')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
    'xctl users update')
      __xctl_subs=()
      __xctl_flags=('--config:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '--data-dir:data dir of the local auth service (overrides the config)' '--debug:print stack traces and causes of errors' '--help:display help for command' '--identity:admin identity file, for use away from the auth host (with --proxy)' '--insecure:do not verify the proxy certificate (throwaway test clusters only)' '--proxy:proxy address when using -i (env XCTL_PROXY)' '--set-db-names:replace the db_names trait' '--set-db-users:replace the db_users trait' '--set-roles:replace the roles' '--version:print the xctl version' '-V:print the xctl version' '-c:service config file (default /etc/xport.yaml when it exists; env XCTL_CONFIG)' '-d:print stack traces and causes of errors' '-h:display help for command' '-i:admin identity file, for use away from the auth host (with --proxy)')
      __xctl_req=('--config' '--data-dir' '--identity' '--proxy' '--set-db-names' '--set-db-users' '--set-roles' '-c' '-i')
      __xctl_opt=()
      __xctl_args=1
      __xctl_last=0
      ;;
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
    'xctl audit ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl auth export|--type') __xctl_vals=('db' 'db-client' 'host' 'tls' 'tls-host' 'tls-user' 'user') ;;
    'xctl auth sign|--format') __xctl_vals=('file' 'redis') ;;
    'xctl backend check|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl backend migrate|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl db ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl db secret ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl db users ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl get|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl status|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl tokens add|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl tokens add|--type') __xctl_vals=('db') ;;
    'xctl tokens ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl users add|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    'xctl users ls|--format') __xctl_vals=('json' 'text' 'yaml') ;;
    *) return 1 ;;
  esac
}

# _xctl walks $words down the command tree, then completes the current word.
_xctl() {
  local p='xctl' word cur prev flag __xctl_next __xctl_args __xctl_last
  local -a __xctl_subs __xctl_flags __xctl_req __xctl_opt __xctl_vals
  integer i=2 nargs=0 n end=0
  while (( i < CURRENT )); do
    word=${words[i]}
    __xctl_spec "$p"
    if (( end )); then
      nargs=$((nargs + 1))
    else
      case $word in
        --) end=1 ;;
        -*=*) ;;
        -*)
          if (( ${__xctl_req[(Ie)$word]} )); then
            i=$((i + 1))
          elif (( ${__xctl_opt[(Ie)$word]} )) && [[ ${words[i+1]} != -* ]]; then
            i=$((i + 1))
          fi
          ;;
        *)
          if __xctl_step "$p" "$word"; then
            p=$__xctl_next
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
  cur=${words[CURRENT]}
  prev=${words[CURRENT-1]}
  if (( ! end )) && [[ $cur == -*=* ]]; then
    flag=${cur%%=*}
    compset -P '*='
    if __xctl_values "$p" "$flag"; then compadd -a __xctl_vals; else _files; fi
    return
  fi
  if (( ! end && ${__xctl_req[(Ie)$prev]} + ${__xctl_opt[(Ie)$prev]} )); then
    if __xctl_values "$p" "$prev"; then compadd -a __xctl_vals; return; fi
    if (( ${__xctl_req[(Ie)$prev]} )); then _files; return; fi
  fi
  if (( ! end )) && [[ $cur == -* ]]; then
    _describe -t options 'option' __xctl_flags
  elif (( ! end && ${#__xctl_subs} )); then
    _describe -t commands 'command' __xctl_subs
  else
    n=$((nargs + 1))
    if (( __xctl_last > 0 && n > __xctl_last )); then n=$__xctl_last; fi
    if __xctl_values "$p" "#$n"; then
      compadd -a __xctl_vals
    elif (( __xctl_last > 0 || nargs < __xctl_args )); then
      _files
    fi
  fi
}

if [[ $funcstack[1] == _xctl ]]; then
  _xctl "$@"
else
  compdef _xctl xctl
fi
