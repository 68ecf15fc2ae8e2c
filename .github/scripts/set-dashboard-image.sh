#!/usr/bin/env bash
# Names the dashboard image a stack runs (bi:dashboard.imageTag), in this checkout's stack file, when
# the stack has a dashboard. The pushed image's tag is the commit's: the previous tag is the rollback.
#
#   set-dashboard-image.sh STACK TAG
set -euo pipefail

stack=${1:?stack}
tag=${2:?image tag}
# A stack's settings are read from its file in infra/; a stack not yet in the backend is created.
pulumi -C infra stack select --create "$stack" >/dev/null
if [[ -z "$(pulumi -C infra config get --path bi:dashboard.certificateArn --stack "$stack" 2>/dev/null)" ]]; then
  echo "stack $stack has no dashboard"
  exit 0
fi
pulumi -C infra config set --path bi:dashboard.imageTag "$tag" --stack "$stack"
echo "stack $stack runs dashboard image $tag"
