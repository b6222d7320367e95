"""A partner's client of leadrouterd under security.mode: curve: follows its feed topic
and accepts each lead offered to it. The daemon knows the partner by its key.

usage: curve_partner.py PUBLISH_ENDPOINT CONTROL_ENDPOINT SERVER_KEY PARTNER_KEY_SECRET PARTNER_ID [COUNT]
"""
import json
import sys

import zmq
import zmq.auth

publish_endpoint, control_endpoint, server_key, partner_key, partner = sys.argv[1:6]
count = int(sys.argv[6]) if len(sys.argv) > 6 else 1

server_public, _ = zmq.auth.load_certificate(server_key)
public, secret = zmq.auth.load_certificate(partner_key)


def curve_socket(context, kind):
    socket = context.socket(kind)
    socket.curve_serverkey = server_public
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    return socket


context = zmq.Context()
feed = curve_socket(context, zmq.SUB)
feed.setsockopt_string(zmq.SUBSCRIBE, f"partner/{partner}/")
feed.setsockopt_string(zmq.SUBSCRIBE, f"heartbeat/partner/{partner}/")
feed.connect(publish_endpoint)
control = curve_socket(context, zmq.REQ)
control.connect(control_endpoint)

accepted = 0
while accepted < count:
    topic, body = feed.recv_multipart()
    envelope = json.loads(body)
    if topic.startswith(b"heartbeat/"):
        print("heartbeat", envelope["topic"], envelope["last_seq"], flush=True)
        continue
    if envelope["type"] != "offer":
        continue
    # No partner_id: under CURVE the daemon takes it from the key.
    control.send_json({"request_id": f"accept-{envelope['lead_id']}", "action": "accept",
                       "lead_id": envelope["lead_id"]})
    print(json.dumps(control.recv_json()), flush=True)
    accepted += 1
