//! The `s3s::S3` trait: each supported operation forwards to its handler in `ops/`. Operations not
//! listed keep s3s's default answer, `NotImplemented`.

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use crate::lagoa::Lagoa;

macro_rules! route {
    ($($op:ident => $handler:ident: $input:ty => $output:ty;)*) => {
        #[async_trait::async_trait]
        impl S3 for Lagoa {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.$handler(req).await
                }
            )*
        }
    };
}

route! {
    create_bucket => do_create_bucket: CreateBucketInput => CreateBucketOutput;
    head_bucket => do_head_bucket: HeadBucketInput => HeadBucketOutput;
    list_buckets => do_list_buckets: ListBucketsInput => ListBucketsOutput;
    delete_bucket => do_delete_bucket: DeleteBucketInput => DeleteBucketOutput;
    get_bucket_location => do_get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
    get_bucket_versioning => do_get_bucket_versioning: GetBucketVersioningInput => GetBucketVersioningOutput;
    put_bucket_versioning => do_put_bucket_versioning: PutBucketVersioningInput => PutBucketVersioningOutput;
    put_object => do_put_object: PutObjectInput => PutObjectOutput;
    get_object_attributes => do_get_object_attributes: GetObjectAttributesInput => GetObjectAttributesOutput;
    get_object => do_get_object: GetObjectInput => GetObjectOutput;
    head_object => do_head_object: HeadObjectInput => HeadObjectOutput;
    delete_object => do_delete_object: DeleteObjectInput => DeleteObjectOutput;
    delete_objects => do_delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
    copy_object => do_copy_object: CopyObjectInput => CopyObjectOutput;
    list_objects => do_list_objects: ListObjectsInput => ListObjectsOutput;
    list_objects_v2 => do_list_objects_v2: ListObjectsV2Input => ListObjectsV2Output;
    list_object_versions => do_list_object_versions: ListObjectVersionsInput => ListObjectVersionsOutput;
    create_multipart_upload => do_create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
    upload_part => do_upload_part: UploadPartInput => UploadPartOutput;
    upload_part_copy => do_upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput;
    list_parts => do_list_parts: ListPartsInput => ListPartsOutput;
    list_multipart_uploads => do_list_multipart_uploads: ListMultipartUploadsInput => ListMultipartUploadsOutput;
    complete_multipart_upload => do_complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
    abort_multipart_upload => do_abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
    put_object_tagging => do_put_object_tagging: PutObjectTaggingInput => PutObjectTaggingOutput;
    get_object_tagging => do_get_object_tagging: GetObjectTaggingInput => GetObjectTaggingOutput;
    delete_object_tagging => do_delete_object_tagging: DeleteObjectTaggingInput => DeleteObjectTaggingOutput;
    get_bucket_acl => do_get_bucket_acl: GetBucketAclInput => GetBucketAclOutput;
    put_bucket_acl => do_put_bucket_acl: PutBucketAclInput => PutBucketAclOutput;
    get_object_acl => do_get_object_acl: GetObjectAclInput => GetObjectAclOutput;
    put_object_acl => do_put_object_acl: PutObjectAclInput => PutObjectAclOutput;
    get_bucket_ownership_controls => do_get_bucket_ownership_controls: GetBucketOwnershipControlsInput => GetBucketOwnershipControlsOutput;
    put_bucket_ownership_controls => do_put_bucket_ownership_controls: PutBucketOwnershipControlsInput => PutBucketOwnershipControlsOutput;
    delete_bucket_ownership_controls => do_delete_bucket_ownership_controls: DeleteBucketOwnershipControlsInput => DeleteBucketOwnershipControlsOutput;
    put_bucket_cors => do_put_bucket_cors: PutBucketCorsInput => PutBucketCorsOutput;
    get_bucket_cors => do_get_bucket_cors: GetBucketCorsInput => GetBucketCorsOutput;
    delete_bucket_cors => do_delete_bucket_cors: DeleteBucketCorsInput => DeleteBucketCorsOutput;
    put_bucket_encryption => do_put_bucket_encryption: PutBucketEncryptionInput => PutBucketEncryptionOutput;
    get_bucket_encryption => do_get_bucket_encryption: GetBucketEncryptionInput => GetBucketEncryptionOutput;
    delete_bucket_encryption => do_delete_bucket_encryption: DeleteBucketEncryptionInput => DeleteBucketEncryptionOutput;
    put_bucket_tagging => do_put_bucket_tagging: PutBucketTaggingInput => PutBucketTaggingOutput;
    get_bucket_tagging => do_get_bucket_tagging: GetBucketTaggingInput => GetBucketTaggingOutput;
    delete_bucket_tagging => do_delete_bucket_tagging: DeleteBucketTaggingInput => DeleteBucketTaggingOutput;
    select_object_content => do_select_object_content: SelectObjectContentInput => SelectObjectContentOutput;
    put_bucket_lifecycle_configuration => do_put_bucket_lifecycle_configuration: PutBucketLifecycleConfigurationInput => PutBucketLifecycleConfigurationOutput;
    get_bucket_lifecycle_configuration => do_get_bucket_lifecycle_configuration: GetBucketLifecycleConfigurationInput => GetBucketLifecycleConfigurationOutput;
    delete_bucket_lifecycle => do_delete_bucket_lifecycle: DeleteBucketLifecycleInput => DeleteBucketLifecycleOutput;
    put_object_lock_configuration => do_put_object_lock_configuration: PutObjectLockConfigurationInput => PutObjectLockConfigurationOutput;
    get_object_lock_configuration => do_get_object_lock_configuration: GetObjectLockConfigurationInput => GetObjectLockConfigurationOutput;
    put_object_retention => do_put_object_retention: PutObjectRetentionInput => PutObjectRetentionOutput;
    get_object_retention => do_get_object_retention: GetObjectRetentionInput => GetObjectRetentionOutput;
    put_object_legal_hold => do_put_object_legal_hold: PutObjectLegalHoldInput => PutObjectLegalHoldOutput;
    get_object_legal_hold => do_get_object_legal_hold: GetObjectLegalHoldInput => GetObjectLegalHoldOutput;
    put_bucket_policy => do_put_bucket_policy: PutBucketPolicyInput => PutBucketPolicyOutput;
    get_bucket_policy => do_get_bucket_policy: GetBucketPolicyInput => GetBucketPolicyOutput;
    delete_bucket_policy => do_delete_bucket_policy: DeleteBucketPolicyInput => DeleteBucketPolicyOutput;
    get_bucket_policy_status => do_get_bucket_policy_status: GetBucketPolicyStatusInput => GetBucketPolicyStatusOutput;
    put_public_access_block => do_put_public_access_block: PutPublicAccessBlockInput => PutPublicAccessBlockOutput;
    get_public_access_block => do_get_public_access_block: GetPublicAccessBlockInput => GetPublicAccessBlockOutput;
    delete_public_access_block => do_delete_public_access_block: DeletePublicAccessBlockInput => DeletePublicAccessBlockOutput;
}
