/** The placeholder values of statemachine/copy.asl.json as a deployment in the example account fills them. */
export const EXAMPLE_DEFINITION_VALUES = {
  ListFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-list',
  CopyFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-copy',
  NotifyFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-notify',
  StateBucket: 's3xcopy-state-111111111111',
  MapMaxConcurrency: '40',
  SlicesPerExecution: '500',
};
