#!/usr/bin/env bash
# Puts the dashboard image a deployment asks for into the stack's ECR repository, once.
#
#   ship-dashboard-image.sh STACK TAG ARCHIVE
#
# ARCHIVE is this run's image (`docker save` of bi-dashboard:$GITHUB_SHA, built once per commit).
# TAG is the image the stack runs: this commit's ($GITHUB_SHA), which is pushed unless already there
# (tags are immutable), or an earlier commit's when rolling back, which must already be in the
# repository (it keeps the last bi:dashboard.keepImages). Run it before `pulumi up` and again after:
# on a stack's first dashboard deployment the repository exists only once the update has created it
# (and the stack runs the image from the next deployment on). Run from the repository's root.
set -euo pipefail

stack=${1:?stack}
tag=${2:?image tag}
archive=${3:?image archive}

# A stack's settings are read from its file in infra/; a stack not yet in the backend is created.
errors=$(mktemp)
pulumi -C infra stack select --create "$stack" >/dev/null
if [[ -z "$(pulumi -C infra config get --path bi:dashboard.certificateArn --stack "$stack" 2>/dev/null)" ]]; then
  echo "stack $stack has no dashboard: no image to ship"
  exit 0
fi
prefix=$(pulumi -C infra config get bi:namePrefix --stack "$stack")
repository="${prefix}-${stack}-dashboard"

# Only a missing repository or image is expected; any other answer (no access, throttling, another
# region) stops the deployment rather than passing for "not there yet".
if ! uri=$(aws ecr describe-repositories --repository-names "$repository" \
    --query 'repositories[0].repositoryUri' --output text 2>"$errors"); then
  if grep -q RepositoryNotFoundException "$errors"; then
    echo "repository $repository does not exist yet: the deployment creates it, then the image is pushed"
    exit 0
  fi
  echo "::error::cannot look up repository $repository: $(cat "$errors")" >&2
  exit 1
fi
if aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" >/dev/null 2>"$errors"; then
  echo "$uri:$tag is already in the repository"
  exit 0
fi
if ! grep -q ImageNotFoundException "$errors"; then
  echo "::error::cannot look up image $uri:$tag: $(cat "$errors")" >&2
  exit 1
fi
if [[ "$tag" != "${GITHUB_SHA:?}" ]]; then
  echo "::error::$uri:$tag is not in the repository (it keeps the last images only): cannot deploy it" >&2
  exit 1
fi

docker load --input "$archive"
aws ecr get-login-password | docker login --username AWS --password-stdin "${uri%%/*}"
docker tag "bi-dashboard:$tag" "$uri:$tag"
docker push "$uri:$tag"
echo "pushed $uri:$tag"
