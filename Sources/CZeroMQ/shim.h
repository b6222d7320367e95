#ifndef LEADROUTER_CZEROMQ_SHIM_H
#define LEADROUTER_CZEROMQ_SHIM_H
#include <zmq.h>
// The eventfd that wakes a thread blocked in zmq_poll (see ZeroMQ/Poller.swift).
#include <sys/eventfd.h>
#endif
