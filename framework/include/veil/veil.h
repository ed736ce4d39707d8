/* veil — end-to-end encrypted, mutually authenticated secure channels
 * between workers, routed across nodes and transports.  Umbrella header. */
#ifndef VEIL_H
#define VEIL_H

#include <veil/common.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/address.h>
#include <veil/message.h>
#include <veil/node.h>
#include <veil/access.h>
#include <veil/codec.h>
#include <veil/config.h>
#include <veil/plugin.h>
#include <veil/store.h>
#include <veil/vault.h>
#include <veil/key_agreement.h>
#include <veil/trust_policy.h>
#include <veil/transport.h>
#include <veil/entity.h>
#include <veil/secure_channel.h>
#include <veil/relay.h>
#include <veil/portal.h>

#endif
