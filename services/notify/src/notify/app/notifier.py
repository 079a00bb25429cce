"""The notifier's parts wired together for one process (the view, the queue, meetings, dispatcher)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.sms import Sender, SmsProvider
from roadbranch_shared.sms_cloud import cloud_sms

from notify.adapters.channels import Inbox, SmtpMail, WeChatWorkApp
from notify.app.caps import MongoDailyPlaces
from notify.app.dispatch import DeliveryPolicy, Dispatcher, mongo_deliveries
from notify.app.meetings import Meetings
from notify.app.metrics import NotifyMetrics
from notify.app.queue import MongoDueQueue, NoticeQueue
from notify.app.staff import StaffDirectory
from notify.app.templates import Templates
from notify.app.view import RecipientView
from notify.domain.timing import QuietHours
from notify.settings import Settings


class Notifier:
    def __init__(
        self, db: AsyncDatabase[Document], settings: Settings, metrics: NotifyMetrics, keys: PiiKeys
    ) -> None:
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.clock = Clock(controllable=settings.controllable_clock)
        self.templates = Templates(settings.timezone, driver_app=settings.driver_app_url)
        self.view = RecipientView(db, keys)
        self.http = httpx.AsyncClient(
            timeout=settings.send_timeout_seconds,
            limits=httpx.Limits(max_connections=settings.send_concurrency),
        )
        self.queue = NoticeQueue(
            db,
            self.view,
            self.templates,
            self.clock,
            batch_size=settings.fanout_batch_size,
            on_queued=lambda: self.dispatcher.wake(),
        )
        self.meetings = Meetings(db, self.queue, self.clock, settings.reminder_offsets_minutes)
        self.dispatcher = Dispatcher(
            deliveries=mongo_deliveries(db),
            queue=MongoDueQueue(db.queue, lease=timedelta(seconds=settings.lease_seconds)),
            places=MongoDailyPlaces(db.daily_counts),
            view=self.view,
            senders=self._senders(),
            templates=self.templates,
            meetings=self.meetings,
            clock=self.clock,
            quiet=QuietHours(settings.quiet_start, settings.quiet_end, settings.timezone),
            policy=DeliveryPolicy(
                fallback_order=settings.fallback_order,
                daily_cap=settings.daily_cap,
                max_attempts=settings.max_attempts,
                retry_base_seconds=settings.retry_base_seconds,
                retry_max_seconds=settings.retry_max_seconds,
                send_timeout_seconds=settings.send_timeout_seconds,
                batch_size=settings.batch_size,
                concurrency=settings.send_concurrency,
            ),
            metrics=metrics,
        )
        self.staff = StaffDirectory(
            db, keys, self.view, fallback_order=settings.fallback_order, usable=set(self.dispatcher.senders)
        )

    def _senders(self) -> dict[str, Sender]:
        """The channels that are configured; a channel without settings is never planned."""
        s = self.settings
        senders: list[Sender] = [Inbox(self.db)]
        answers = self.metrics.sms_provider_answers
        if cloud := cloud_sms(
            self.http, s, s.sms_sign, on_answer=lambda name, r: answers.labels(name, r.outcome.value).inc()
        ):
            senders.append(cloud)  # Aliyun and/or Tencent, approved templates
        elif s.sms_url and s.sms_api_key:
            senders.append(
                SmsProvider(
                    self.http,
                    s.sms_url,
                    s.sms_api_key.get_secret_value(),
                    s.sms_sign,
                    honours_keys=s.sms_idempotency_keys,
                )
            )
        if s.wechat_corp_id and s.wechat_secret and s.wechat_agent_id is not None:
            senders.append(
                WeChatWorkApp(
                    self.http,
                    s.wechat_api_url,
                    s.wechat_corp_id,
                    s.wechat_secret.get_secret_value(),
                    s.wechat_agent_id,
                )
            )
        if s.smtp_host:
            senders.append(
                SmtpMail(
                    s.smtp_host,
                    s.smtp_port,
                    s.smtp_from,
                    username=s.smtp_username,
                    password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                    starttls=s.smtp_starttls,
                    timeout=s.send_timeout_seconds,
                )
            )
        return {sender.channel: sender for sender in senders}
