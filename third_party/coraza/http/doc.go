// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

// Package http allows populating a coraza transaction with information from an HTTP Request.
package http
