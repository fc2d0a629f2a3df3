// Package storage provisions where model weights live: a protected,
// retained, versioned and encrypted S3 bucket, an Amazon S3 Files file
// system on it (mount targets in every zone, an access point rooted at
// /models, a TLS-only client policy), the EFS CSI driver addon with Pod
// Identity, and the model namespace with a static ReadWriteMany
// PersistentVolume and claim that every model pod mounts.
//
// The bucket is the source of truth and outlives the stack: it is retained
// on delete always and protected by default, and a new stack can adopt it
// again (storage.importExisting), so weights are downloaded once.
package storage
