#!/usr/bin/env bash
# Names the dashboard image a stack runs (bi:dashboard.imageTag), in this checkout's stack file, when
# the stack has a dashboard and its repository exists (the job pushes the image there before its
# update). On a stack's first deployment the repository does not exist yet: the tag stays unset, the
# service is created with no task, and the next deployment runs the image. The previous tag is the
# rollback.
#
#   set-dashboard-image.sh STACK TAG
set -euo pipefail

stack=${1:?stack}
tag=${2:?image tag}
errors=$(mktemp)
pulumi -C infra stack select --create "$stack" >/dev/null
if [[ -z "$(pulumi -C infra config get --path bi:dashboard.certificateArn --stack "$stack" 2>/dev/null)" ]]; then
  echo "stack $stack has no dashboard"
  exit 0
fi
prefix=$(pulumi -C infra config get bi:namePrefix --stack "$stack")
repository="${prefix}-${stack}-dashboard"
if ! aws ecr describe-repositories --repository-names "$repository" >/dev/null 2>"$errors"; then
  if grep -q RepositoryNotFoundException "$errors"; then
    echo "repository $repository does not exist yet: stack $stack runs no dashboard image until the next deployment"
    exit 0
  fi
  echo "::error::cannot look up repository $repository: $(cat "$errors")" >&2
  exit 1
fi
pulumi -C infra config set --path bi:dashboard.imageTag "$tag" --stack "$stack"
echo "stack $stack runs dashboard image $tag"
