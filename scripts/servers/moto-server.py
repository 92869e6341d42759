"""moto_server, with four defects of moto 5.2.1's Step Functions engine worked around.

The engine (LocalStack's ASL interpreter, copied into moto) runs our workflow once these are fixed; each
fix restores what AWS (and LocalStack itself) does, and none changes how the ASL is interpreted.
docs/compatibility.md lists them with the engine differences that remain.

1. StartExecution deep-copies the state machine (so a later UpdateStateMachine cannot change a running
   execution), and the state machine holds its backend, which holds every execution so far, each with
   its worker thread's lock: from the second StartExecution on in an account and region, moto answers
   500 ("cannot pickle '_thread.RLock' object"). The copy made here shares the backend and starts with
   no executions of its own; the definition, role and configuration it snapshots are immutable values,
   so a shallow copy keeps them as they were when the execution started, which is all the copy was for.
2. StartExecution without a name names the execution "None" (AWS generates a UUID), so a second
   unnamed start, such as our ContinueAsNew state's, collides with the first. It now gets a UUID.
3. DescribeExecution of a SUCCEEDED execution answers 500 ("Object of type datetime is not JSON
   serializable") when the output holds `$$.Execution.StartTime`, which the engine keeps as a datetime
   (our state carries it as startTime). The output is now encoded with the engine's own encoder, the one
   its execution history already uses (ISO 8601 text).
4. The `arn:aws:states:::states:startExecution` integration passes the ASL's parameter names
   (StateMachineArn, Input, Name) to boto3, whose Step Functions model spells them stateMachineArn,
   input, name: every call fails with States.Runtime "'StateMachineArn'". LocalStack converts names
   both ways; moto's copy has the hooks but they do nothing. They now convert the first letter's case.

Usage: python moto-server.py [moto_server arguments]
"""
import copy
import json
import types
import uuid

import moto.stepfunctions.responses as responses
from moto.server import main
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.models import StepFunctionsParserBackend


def _snapshot(self, memo):
    clone = copy.copy(self)
    clone.executions = []
    memo[id(self)] = clone
    return clone


StateMachine.__deepcopy__ = _snapshot

_start_execution = StepFunctionsParserBackend.start_execution


def _start_execution_named(self, state_machine_arn, name=None, *args, **kwargs):
    return _start_execution(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


StepFunctionsParserBackend.start_execution = _start_execution_named

responses.json = types.SimpleNamespace(dumps=lambda obj, **_: to_json_str(obj), loads=json.loads)

_normalise_parameters = StateTaskServiceSfn._normalise_parameters


def _boto_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    _normalise_parameters(self, parameters, boto_service_name, service_action_name)
    for key in list(parameters):
        parameters[key[:1].lower() + key[1:]] = parameters.pop(key)


def _asl_response(self, response, boto_service_name=None, service_action_name=None):
    if isinstance(response, dict):
        for key in list(response):
            response[key[:1].upper() + key[1:]] = response.pop(key)


StateTaskServiceSfn._normalise_parameters = _boto_parameters
StateTaskServiceSfn._normalise_response = _asl_response

if __name__ == "__main__":
    main()
