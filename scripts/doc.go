// Package scripts holds the operator scripts that run outside `pulumi up`,
// and tests that run them against fakes of the commands they call.
//
// build-data-volume-snapshot.sh builds the EBS snapshot behind
// gpu.dataVolumeSnapshotId: a Bottlerocket data volume with the vLLM image
// already pulled and unpacked by the SOCI snapshotter, so a new GPU node
// starts without pulling ~10 GB (docs/data-volume-snapshot.md). Its tests
// put a fake `aws` on PATH that records every call and answers with the
// shapes of the EC2, SSM and IAM APIs; no AWS account is needed.
package scripts
