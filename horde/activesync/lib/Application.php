<?php
/**
 * horde-activesync's optional Horde extension: a hidden application whose
 * only purpose is its API (lib/Api.php).
 *
 * Horde's registry loads this class when the 'activesync' application is
 * pushed (Horde_Registry::getApiInstance()). The application has no pages,
 * no configuration, no preferences and no menu entry ('status' => 'hidden' in
 * the registry snippet), so the web interface never shows it. Everything it
 * answers comes from the other applications through the registry, with the
 * caller's own Horde login.
 *
 * @license  GPL-2.0-or-later (same as horde-activesync)
 * @package  Activesync
 */
class Activesync_Application extends Horde_Registry_Application
{
    /**
     * Reported by Horde's configuration pages; bump with any API change.
     *
     * @var string
     */
    public $version = '1.0.0';
}
