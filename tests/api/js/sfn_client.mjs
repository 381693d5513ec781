// Drives a Sagaway server with the AWS SDK for JavaScript v3, unchanged but for the endpoint
// and disableHostPrefix (StartSyncExecution's "sync-" host prefix would name another host).
// Prints one JSON document: what each call answered, or the error name it raised.
import { SFNClient, ListStateMachinesCommand, CreateStateMachineCommand,
  StartSyncExecutionCommand } from "@aws-sdk/client-sfn";

const [endpoint, key, secret] = process.argv.slice(2);
const sfn = new SFNClient({ endpoint, region: "us-east-1", disableHostPrefix: true,
  credentials: { accessKeyId: key, secretAccessKey: secret }, maxAttempts: 1 });
const definition = JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } });
const out = {};
try {
  out.list = (await sfn.send(new ListStateMachinesCommand({}))).stateMachines;
  const created = await sfn.send(new CreateStateMachineCommand({ name: "js", definition,
    type: "EXPRESS", roleArn: "arn:aws:iam::111111111111:role/r" }));
  const sync = await sfn.send(new StartSyncExecutionCommand({
    stateMachineArn: created.stateMachineArn, input: '{"from": "js"}' }));
  out.sync = { status: sync.status, output: sync.output };
} catch (error) {
  out.error = error.name;
}
console.log(JSON.stringify(out));
