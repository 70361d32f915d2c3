-- Asterisk's own durable records, written by Asterisk itself (asterisk-conf/: cdr_pgsql,
-- cel_pgsql, and queue_log through res_config_pgsql). The AMI stream is gone once missed;
-- these are not: after every gap the daemon reconciles the call log from them
-- (cti/calllog/reconcile.py). Times are float8 epoch seconds where Asterisk allows it
-- (cdr_pgsql and cel_pgsql then write the exact time, to the microsecond, in no time zone);
-- queue_log's time is text in UTC (logger.conf: queue_log_realtime_use_gmt).
-- Asterisk fills each column whose name it knows and leaves the others to their default.

CREATE TABLE asterisk_cdr (
    id           bigserial PRIMARY KEY,
    start        float8,
    answer       float8,
    "end"        float8,
    clid         text,
    src          text,
    dst          text,
    dcontext     text,
    channel      text,
    dstchannel   text,
    lastapp      text,
    lastdata     text,
    duration     integer,
    billsec      integer,
    disposition  text,
    amaflags     text,
    accountcode  text,
    uniqueid     text,
    linkedid     text,
    userfield    text,
    peeraccount  text,
    sequence     integer,
    -- CDR variables the dialplan sets (dialplan/extensions_cti.conf): the consent decision
    -- and the recording's file, durable even when the daemon was away.
    cti_consent         text,
    cti_consent_method  text,
    recording           text
);
CREATE INDEX asterisk_cdr_linkedid ON asterisk_cdr (linkedid);

CREATE TABLE asterisk_cel (
    id           bigserial PRIMARY KEY,
    eventtype    text,
    eventtime    float8,
    userdeftype  text,
    cid_name     text,
    cid_num      text,
    cid_ani      text,
    cid_rdnis    text,
    cid_dnid     text,
    exten        text,
    context      text,
    channame     text,
    appname      text,
    appdata      text,
    accountcode  text,
    peeraccount  text,
    uniqueid     text,
    linkedid     text,
    amaflags     integer,
    userfield    text,
    peer         text,
    extra        text
);
CREATE INDEX asterisk_cel_linkedid ON asterisk_cel (linkedid);
CREATE INDEX asterisk_cel_end ON asterisk_cel (eventtime) WHERE eventtype = 'LINKEDID_END';

CREATE TABLE asterisk_queue_log (
    id         bigserial PRIMARY KEY,
    time       text,
    callid     text,
    queuename  text,
    agent      text,
    event      text,
    data1      text,
    data2      text,
    data3      text,
    data4      text,
    data5      text
);
CREATE INDEX asterisk_queue_log_callid ON asterisk_queue_log (callid);
