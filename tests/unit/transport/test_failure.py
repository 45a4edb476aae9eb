"""aiokafka's errors become the hub's in one place, each with what it means for the operator."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors

from hub.broker import free_port
from hub.errors import BrokerAccessDeniedError, BrokerAuthError, TransportError
from hub.transport import KafkaEndpoint, retriable, translated


def endpoint() -> KafkaEndpoint:
    """Nothing listens there: a connection error finds no TLS cause to name."""
    return KafkaEndpoint((f"127.0.0.1:{free_port()}",))


@pytest.mark.parametrize(
    "error",
    [
        kafka_errors.TopicAuthorizationFailedError,
        kafka_errors.GroupAuthorizationFailedError,
        kafka_errors.ClusterAuthorizationFailedError,
    ],
)
async def test_an_acl_denial_names_what_was_tried_and_is_not_retried(
    error: type[kafka_errors.KafkaError],
) -> None:
    with pytest.raises(BrokerAccessDeniedError) as caught:
        async with translated(endpoint(), "read vru.audit.heads"):
            raise error
    assert not caught.value.retriable
    assert caught.value.reason == "broker_access_denied"
    assert "cannot read vru.audit.heads" in str(caught.value)
    assert caught.value.error == error.__name__
    assert isinstance(caught.value.__cause__, error)


async def test_a_sasl_failure_is_an_authentication_error() -> None:
    with pytest.raises(BrokerAuthError, match="SASL authentication failed") as caught:
        async with translated(endpoint(), "connect to the broker"):
            raise kafka_errors.AuthenticationFailedError
    assert not caught.value.retriable


async def test_a_broker_that_is_only_down_stays_retriable() -> None:
    with pytest.raises(TransportError) as caught:
        async with translated(endpoint(), "read vru.agreements"):
            raise kafka_errors.KafkaConnectionError("Unable to bootstrap")
    assert type(caught.value) is TransportError
    assert caught.value.retriable
    assert str(caught.value) == "cannot read vru.agreements: KafkaConnectionError"


async def test_other_errors_keep_their_name_and_cause() -> None:
    with pytest.raises(TransportError, match="cannot send to t: RequestTimedOutError"):
        async with translated(endpoint(), "send to t"):
            raise kafka_errors.RequestTimedOutError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (kafka_errors.KafkaTimeoutError(), True),  # buffer full, metadata late: aiokafka says no
        (kafka_errors.KafkaConnectionError(), True),
        (kafka_errors.NotLeaderForPartitionError(), True),
        (kafka_errors.RequestTimedOutError(), True),
        (kafka_errors.MessageSizeTooLargeError(), False),  # never, however often it is sent
        (kafka_errors.TopicAuthorizationFailedError(), False),
        (TransportError("cannot send"), True),
        (BrokerAccessDeniedError("send", "TopicAuthorizationFailedError"), False),
        (ConnectionResetError(), True),
        (RuntimeError("a bug"), False),
        (ValueError("a bad message"), False),
    ],
)
def test_a_send_is_retried_only_when_the_broker_or_network_failed_it(
    error: BaseException, expected: bool
) -> None:
    assert retriable(error) is expected


def _raised_from(wrapper: Exception, cause: BaseException) -> Exception:
    """``wrapper`` as ``raise wrapper from cause`` leaves it."""
    wrapper.__cause__ = cause
    return wrapper


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (kafka_errors.KafkaTimeoutError(), True),
        (kafka_errors.KafkaConnectionError(), True),
        (kafka_errors.NotLeaderForPartitionError(), True),
        (kafka_errors.MessageSizeTooLargeError(), False),
        (kafka_errors.TopicAuthorizationFailedError(), False),
    ],
)
def test_faust_s_wrapper_of_a_send_error_is_judged_by_the_client_s_error(
    cause: kafka_errors.KafkaError, expected: bool
) -> None:
    """faust raises every error of a send at queueing as ``ProducerSendError`` from the
    client's error (``faust/transport/drivers/aiokafka.py``, ``send``); judged as itself, a
    broker that was only down made the agent quarantine the record instead of sending again."""
    from faust.exceptions import ProducerSendError  # noqa: PLC0415  # the agents' framework

    wrapped = _raised_from(ProducerSendError(f"Error while sending: {cause!r}"), cause)
    assert retriable(wrapped) is expected
    assert retriable(_raised_from(RuntimeError("a bug"), ValueError("no"))) is False
