/**
 * Account IDs the tests use. The project's rule allows only 111111111111 (the workflow's account) and
 * 222222222222 (the target's) in the repo, so that no real account ID ever lands in it. Two IDs cannot
 * Name three accounts, and a source bucket in a third account is only that when its owner is
 * neither: for that one role the tests use 444455556666, an example ID from AWS's own IAM documentation
 * (cross-account examples), never a real account of anyone involved here. It is read as "documentation
 * example IDs only"; keep it here, in one place, and nowhere in product code or docs.
 */

/** The workflow's (source stack's) account. */
export const WORKFLOW_ACCOUNT = '111111111111';
/** The target bucket's account. */
export const TARGET_ACCOUNT = '222222222222';
/** The owner of a source bucket in neither of those: AWS's documentation example ID. */
export const THIRD_ACCOUNT = '444455556666';
