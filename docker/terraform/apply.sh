#!/bin/sh
# One-shot `terraform` job of the local stack (docker-compose.yml): applies deploy/terraform/examples/local
# against the AWS stand-in (moto, or LocalStack with `--profile localstack`), then checks that what it created
# is what the worker is configured to use, so a renamed resource fails here, loudly, instead of in the worker.
#
#   /terraform-src   deploy/terraform, mounted read-only
#   /tfwork          named volume: a copy of the configuration, the state and outputs.json
#   /plugin-cache    named volume: TF_PLUGIN_CACHE_DIR, so providers download once
set -eu

endpoint="${AWS_STANDIN_URL:-http://moto:5000}"
state=/tfwork/terraform.tfstate

# Terraform writes .terraform/ and the lock file next to the configuration: work on a copy.
rm -rf /tfwork/config
mkdir -p /tfwork/config
cp -R /terraform-src/. /tfwork/config/
cd /tfwork/config/examples/local

terraform init -input=false
terraform apply -input=false -auto-approve -state="$state" -var "endpoint=$endpoint"

# The local example leaves out the results bucket's TLS-only policy (`results_bucket_tls_only = false`):
# moto (5.2) evaluates a bucket policy's Deny statements without their conditions and would refuse every
# record. AWS deployments keep it (the module's default).
terraform output -state="$state" -json > /tfwork/outputs.json

output() {
    terraform output -state="$state" -raw "$1"
}

mismatch=0
expect() {
    # expect NAME ACTUAL EXPECTED
    if [ "$2" != "$3" ]; then
        echo "terraform output $1 is '$2' but docker-compose.yml configures the worker with '$3'" >&2
        mismatch=1
    fi
}

# Queue URLs differ in host between stand-ins (moto answers with the request's host, LocalStack with its
# own): compare the account id and queue name, which is what the worker's requests resolve.
expect queue_url "$(output queue_url | cut -d/ -f4-)" "$(echo "$BV_QUEUE_URL" | cut -d/ -f4-)"
expect events_queue_url "$(output events_queue_url | cut -d/ -f4-)" "$(echo "$BV_EVENTS_QUEUE_URL" | cut -d/ -f4-)"
expect dlq_url "$(output dlq_url | cut -d/ -f4-)" "$(echo "$BV_DLQ_URL" | cut -d/ -f4-)"
expect results_bucket "$(output results_bucket)" "$BV_RESULTS_BUCKET"
expect ledger_table "$(output ledger_table)" "$BV_LEDGER_TABLE"
expect log_group_name "$(output log_group_name)" "$BV_LOG_GROUP"
expect restore_role_arn "$(output restore_role_arn)" "$BV_RESTORE_ROLE_ARN"

if [ "$mismatch" -ne 0 ]; then
    echo "update the x-bv-resources block of docker-compose.yml (or the example's variables) to match" >&2
    exit 1
fi
echo "local AWS resources ready at $endpoint"
